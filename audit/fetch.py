"""Read every page of an inspection listing over HTTP."""
import requests

TIMEOUT_S = 10


def all_items(session, base_url, path, query=""):
    """Return every item of a paginated listing, following its `next` links."""
    items, url = [], f"{base_url}{path}?limit=1000" + (f"&{query}" if query else "")
    while url:
        response = session.get(url, timeout=TIMEOUT_S)
        response.raise_for_status()
        page = response.json()
        items += page["items"]
        url = f"{base_url}{page['next']}" if page.get("next") else None
    return items


def snapshot(urls):
    """Return every order, stock row, payment, shipment and notification, by service URL."""
    with requests.Session() as session:
        return {
            "orders": all_items(session, urls["orders"], "/orders"),
            "stock": all_items(session, urls["inventory"], "/stock"),
            "payments": all_items(session, urls["payments"], "/payments"),
            "shipments": all_items(session, urls["shipping"], "/shipments"),
            "notifications": all_items(session, urls["notifications"], "/notifications"),
        }
