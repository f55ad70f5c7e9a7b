"""Self-checking exercises: take a guarantee out of a scratch copy of the project, put it back,
and let the project's own tests say PASS or FAIL.

The guarded code carries a pair of comments, `# exercise: <name> begin` and `# exercise: <name>
end`; the exercise's definition (exercises/catalog/) holds everything else: the TODO and hint
left where the code was, the tests that decide it, the reference solution (the marked code
itself) and the plausible wrong fixes that must fail. Nothing here edits the learner's checkout:
every exercise works on its own copy under var/exercises/<name>/. See docs/exercises.md.
"""
