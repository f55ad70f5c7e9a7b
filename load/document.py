"""A report as a list of blocks, written out twice: as Markdown and as standalone HTML.

Blocks: ("h1"|"h2"|"h3", text), ("p", text), ("pre", text), ("table", header, rows),
("img", relative path, caption). Plumbing: no markup library, so nothing new to install.
"""
import html


def markdown(blocks):
    """Return the blocks as Markdown."""
    out = []
    for kind, *rest in blocks:
        if kind in ("h1", "h2", "h3"):
            out.append(f"{'#' * int(kind[1])} {rest[0]}")
        elif kind == "p":
            out.append(rest[0])
        elif kind == "pre":
            out.append(f"```\n{rest[0].rstrip()}\n```")
        elif kind == "table":
            header, rows = rest
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
            out.append("\n".join(lines))
        elif kind == "img":
            out.append(f"![{rest[1]}]({rest[0]})")
    return "\n\n".join(out) + "\n"


def to_html(blocks, title):
    """Return the blocks as one HTML page (images linked, next to the page)."""
    body = []
    for kind, *rest in blocks:
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{html.escape(rest[0])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_inline(rest[0])}</p>")
        elif kind == "pre":
            body.append(f"<pre>{html.escape(rest[0])}</pre>")
        elif kind == "table":
            header, rows = rest
            cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
            lines = "".join("<tr>" + "".join(f"<td>{_inline(str(c))}</td>" for c in r) + "</tr>"
                            for r in rows)
            body.append(f"<table><tr>{cells}</tr>{lines}</table>")
        elif kind == "img":
            body.append(f'<figure><img src="{html.escape(rest[0])}" alt="{html.escape(rest[1])}">'
                        f"<figcaption>{html.escape(rest[1])}</figcaption></figure>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def cell(value):
    """A Markdown table cell: a | of the text (a logged message's) must not end the cell."""
    return str(value).replace("|", "\\|")


def _inline(text):
    """Escape text, keeping `code` and [links](url) of the Markdown source."""
    out, parts = [], html.escape(text).split("`")
    for i, part in enumerate(parts):
        out.append(f"<code>{part}</code>" if i % 2 else _links(part))
    return "".join(out).replace("\n", "<br>")


def _links(text):
    while "](" in text and "[" in text:
        start = text.rfind("[", 0, text.index("]("))
        middle = text.index("](", start)
        end = text.index(")", middle)
        text = (text[:start] + f'<a href="{text[middle + 2:end]}">{text[start + 1:middle]}</a>'
                + text[end + 1:])
    return text


STYLE = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto;line-height:1.4}"
         "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
         "padding:3px 6px;text-align:right}th{background:#eee}img{max-width:100%}"
         "pre{background:#f6f6f6;padding:8px;overflow:auto}")
