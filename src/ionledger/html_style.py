"""The one stylesheet of the self-contained HTML reports (simulator and analytics): inlined in
each page, so that a report opens offline and prints without fetching anything."""

REPORT_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f0; }
figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
.note { color: #555; font-size: 0.85em; }
.deficit { background: #fde8e8; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-before: auto; } }
"""
