"""``condor_nb profiles``: the site profiles available, and where each comes from."""

from __future__ import annotations

import click

from condor_nb.cli import display
from condor_nb.submission import templates


@click.command()
@click.option("--show", metavar="NAME", help="Print one profile's file.")
def profiles(show: str | None) -> None:
    """List site profiles: name, origin, file, description (first match wins)."""

    if show:
        template = templates.load(show)
        click.echo(f"# {template.path}")
        click.echo(template.path.read_text(encoding="utf-8"), nl=False)
        return
    rows = []
    for name, (origin, path) in sorted(templates.available().items()):
        try:
            description = templates.load(name).description
        except Exception as exc:  # a broken profile is listed with its error
            description = f"BROKEN: {exc}".splitlines()[0]
        rows.append([name, origin, str(path), description])
    click.echo(display.table(("NAME", "ORIGIN", "FILE", "DESCRIPTION"), rows, max_width=200))
    dirs = ", ".join(f"{origin}={path}" for origin, path in templates.search_path())
    click.echo(f"\nsearch path: {dirs}")
