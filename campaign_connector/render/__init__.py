"""What the CLI shows and writes, apart from the inspection data itself (``report`` renders that).

- ``console``: the consoles (results on stdout, the rest on stderr), the table-width policy, progress bars;
- ``formats``: one enum per ``--format`` choice, each member knowing its writer (``to_format()``);
- ``writers``: those writers, one table per command;
- ``output``: ``atomic_output`` and the file suffix → format table of every command that writes files;
- ``commands``: the summaries and small tables of ``replay``, ``runs``, ``sends``, ``doctor``;
- ``html``: ``report --html``, one self-contained page with inline SVG charts.

Only this package, ``report`` and ``cli`` import rich.
"""
