"""The ``ionledger`` command line: a thin edge that reads arguments and the environment, calls the
services, and renders their results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from ionledger.cli_analytics import export
from ionledger.cli_common import DbOption, TokenOption, console, err, fail, settings_of, token_of
from ionledger.cli_epr import epr_app
from ionledger.cli_governance import alerts, registry_app, rules, token_app
from ionledger.cli_report import report
from ionledger.cli_sim import sim_app
from ionledger.errors import IonLedgerError
from ionledger.ledger.note import Verifier
from ionledger.render import print_import_report, print_trace

app = typer.Typer(
    name="ionledger",
    help="An open, verifiable system of record for traction batteries.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_settings, _fail = settings_of, fail


def _verifier(key: str) -> Verifier:
    """A verifier key given as text, or as the path of a file holding it."""
    from ionledger.ledger.note import Verifier

    text = Path(key).read_text(encoding="utf-8") if Path(key).is_file() else key
    return Verifier.from_vkey(text.strip())


@app.command()
def init(db: DbOption = None) -> None:
    """Create the store (or bring its schema up to date)."""
    from ionledger.governance.credentials import bootstrap_admin
    from ionledger.services.log import start_log
    from ionledger.store.open import init_store, revision

    settings = _settings(db)
    try:
        store = init_store(settings.database_url)
        console.print(
            f"store ready at {settings.database_url} (schema {revision(store)}, "
            f"{store.count_events()} events)"
        )
        signer, created = start_log(store, settings)
        if created is not None:
            console.print(f"log signing key created at {created} (mode 0600): keep it secret")
        console.print(f"log public key: {signer.verifier().vkey()}")
        token = bootstrap_admin(store)
        if token is not None:
            console.print(
                "admin credential created for the node operator; the token is shown once:"
            )
            typer.echo(token)
        store.close()
    except IonLedgerError as exc:
        raise _fail(exc) from exc


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory to write documents into.")],
    batteries: Annotated[int, typer.Option("--batteries", min=1, help="Traction packs.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same bytes).")] = 1,
) -> None:
    """Write a synthetic fleet as EPCIS 2.0 JSON-LD documents, with truth.json and registry.json."""
    from ionledger.sim.generator import generate as run

    with Progress(
        TextColumn("generating"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} packs"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("packs", total=batteries)
        result = run(
            batteries=batteries,
            seed=seed,
            out=out,
            progress=lambda done: bar.update(task, completed=done),
        )
    console.print(
        f"wrote {result.events} events for {result.packs} packs to {out} "
        f"({len(result.files)} files)"
    )


@app.command("import")
def import_(
    files: Annotated[
        list[Path], typer.Argument(help="EPCIS 2.0 JSON documents.", exists=True, dir_okay=False)
    ],
    proceed: Annotated[
        bool,
        typer.Option(
            "--proceed",
            help="Store the good events of a document that has bad ones (default: reject it all).",
        ),
    ] = False,
    reporter: Annotated[
        str,
        typer.Option(
            "--as", help="Reporting enterprise, for events that do not name one (ion:reportedBy)."
        ),
    ] = "local",
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON report per document on stdout.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Import documents: each is checked event by event; errors name the event, field and rule."""
    from ionledger.services.importer import Importer
    from ionledger.services.log import Checkpointer, load_signer
    from ionledger.store.open import open_store

    settings = _settings(db)
    failed = False
    try:
        signer = load_signer(settings)  # before reading anything: a node without a key stops
        store = open_store(settings.database_url)
        checkpointer = Checkpointer(store, signer, interval=settings.checkpoint_interval)
        importer = Importer(store, settings, reporter=reporter, checkpointer=checkpointer)
        for path in files:
            size = path.stat().st_size
            with (
                Progress(
                    TextColumn(path.name),
                    BarColumn(),
                    DownloadColumn(),
                    TimeRemainingColumn(),
                    console=err,
                    transient=True,
                ) as bar,
                path.open("rb") as fh,
            ):
                task = bar.add_task("import", total=size)

                def advance(done: int, task: TaskID = task, bar: Progress = bar) -> None:
                    bar.update(task, completed=done)

                report = importer.import_stream(
                    fh, source=str(path), proceed=proceed, progress=advance
                )
            if as_json:
                typer.echo(msgspec.json.encode(report.as_dict()).decode())
            else:
                print_import_report(console, report)
            failed |= not report.ok
        store.close()
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    if failed:
        raise typer.Exit(1)


@app.command()
def trace(
    code: Annotated[str, typer.Argument(help="GB/T 34014 code, EPC URN, Digital Link or VIN URN.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    token: TokenOption = None,
    db: DbOption = None,
) -> None:
    """The full history and genealogy of a battery, as a timeline."""
    from ionledger.services.principals import Principals
    from ionledger.services.trace import trace as run
    from ionledger.store.open import open_store

    try:
        store = open_store(_settings(db).database_url)
        try:
            bearer = token_of(token)
            who = Principals(store).of_token(bearer) if bearer else None
            result = run(store, code, who)
        finally:
            store.close()
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(msgspec.json.encode(result).decode())
    else:
        print_trace(console, result)


@app.command()
def rebuild(db: DbOption = None) -> None:
    """Recompute every projection from the stored events."""
    from ionledger.services.rebuild import rebuild as run
    from ionledger.store.open import open_store

    try:
        store = open_store(_settings(db).database_url)
        count = run(store)
        store.close()
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    console.print(f"rebuilt projections from {count} events")


def _read(path: Path) -> bytes:
    from ionledger.errors import ValidationError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from exc


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="An EPCIS 2.0 document, JSON-LD or XML.")],
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Hold it to the official EPCIS 2.0 schema's rules (no tolerance)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
) -> None:
    """Check a document without storing it; by default exactly as `import` would take it."""
    from ionledger.render import print_validation
    from ionledger.services.validate import validate as run

    try:
        report = run(_read(file), strict=strict, source=str(file))
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(msgspec.json.encode(report.as_dict()).decode())
    else:
        print_validation(console, report)
    if not report.ok:
        raise typer.Exit(1)


@app.command("hash")
def hash_(
    file: Annotated[Path, typer.Argument(help="An EPCIS 2.0 document, JSON-LD or XML.")],
) -> None:
    """Print the CBV 2.0 event hash ID of each event, in document order."""
    from ionledger.epcis.documents import read_document
    from ionledger.epcis.hashid import document_hash_ids

    try:
        for hash_id in document_hash_ids(read_document(_read(file))):
            typer.echo(hash_id)
    except IonLedgerError as exc:
        raise _fail(exc) from exc


@app.command()
def convert(
    file: Annotated[Path, typer.Argument(help="An EPCIS 2.0 document, JSON-LD or XML.")],
    to: Annotated[str, typer.Option("--to", help="Target syntax: xml or json.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of standard output.")
    ] = None,
) -> None:
    """Convert a document between EPCIS 2.0 JSON-LD and XML (events, extensions kept)."""
    from ionledger.epcis.documents import read_document, write_json, write_xml
    from ionledger.errors import ValidationError

    try:
        if to not in ("xml", "json"):
            raise ValidationError(f"--to {to!r}: expected xml or json")
        document = read_document(_read(file))
        data = write_xml(document) if to == "xml" else write_json(document)
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    if out is None:
        typer.echo(data.decode(), nl=False)
    else:
        out.write_bytes(data)


@app.command()
def checkpoint(db: DbOption = None) -> None:
    """Print the log's latest signed checkpoint (a C2SP signed note)."""
    from ionledger.services.log import checkpoint_of
    from ionledger.store.open import open_store

    try:
        store = open_store(_settings(db).database_url)
        latest = checkpoint_of(store)
        store.close()
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    typer.echo(latest.note, nl=False)


@app.command("log-key")
def log_key(db: DbOption = None) -> None:
    """Print the log's public key (a signed-note verifier key), for verify-proof and auditors."""
    from ionledger.services.log import load_signer

    try:
        typer.echo(load_signer(_settings(db)).verifier().vkey())
    except IonLedgerError as exc:
        raise _fail(exc) from exc


@app.command()
def proof(
    event_id: Annotated[str, typer.Argument(help="The event's identity (eventID or hash ID).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the proof bundle (JSON).")],
    size: Annotated[
        int | None, typer.Option("--size", help="Prove against the checkpoint of this size.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write a self-contained proof bundle: the event, its leaf index, proof and checkpoint."""
    from ionledger.services.log import inclusion
    from ionledger.store.open import open_store

    try:
        store = open_store(_settings(db).database_url)
        result = inclusion(store, event_id, size)
        store.close()
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    out.write_bytes(msgspec.json.format(msgspec.json.encode(result.bundle()), indent=2) + b"\n")
    console.print(
        f"wrote {out}: event {escape(event_id)} is leaf {result.leaf_index} of"
        f" {result.tree_size}; check it with `ionledger verify-proof {out} --key PUBKEY`"
    )


@app.command("verify-proof")
def verify_proof(
    bundle: Annotated[Path, typer.Argument(help="A proof bundle from `ionledger proof`.")],
    key: Annotated[
        str, typer.Option("--key", help="The log's public key (vkey text, or a file holding it).")
    ],
) -> None:
    """Check a proof bundle offline: it needs nothing but the bundle and the log's public key."""
    from ionledger.errors import ValidationError
    from ionledger.ledger.bundle import verify_bundle

    try:
        verifier = _verifier(key)
        try:
            data = msgspec.json.decode(bundle.read_bytes())
        except (OSError, msgspec.DecodeError) as exc:
            raise ValidationError(f"cannot read the bundle {bundle}: {exc}") from exc
        if not isinstance(data, dict):
            raise ValidationError(f"{bundle} is not a JSON object")
        check = verify_bundle(data, verifier)
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    console.print(
        f"[green]verified[/green]: event {escape(check.identity)} is leaf {check.leaf_index} of"
        f" the log {escape(check.origin)} at size {check.tree_size}, signed by its key"
    )


@app.command()
def verify(
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="Check checkpoints against this public key (vkey text or file); default: the"
            " node's own key.",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Recompute the log from the stored events and check every tile and checkpoint."""
    from ionledger.services.log import load_signer
    from ionledger.services.verify import verify_log
    from ionledger.store.open import open_store

    settings = _settings(db)
    try:
        verifier = load_signer(settings).verifier() if key is None else _verifier(key)
        store = open_store(settings.database_url)
        with Progress(
            TextColumn("verifying"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} events"),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("verify", total=store.count_events())
            report = verify_log(store, verifier, progress=lambda n: bar.update(task, completed=n))
        store.close()
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    console.print(
        f"[green]log verified[/green]: {report.events} events, {report.tiles} tiles and"
        f" {report.checkpoints} checkpoints agree"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    db: DbOption = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    from ionledger.api.server import run_server

    run_server(_settings(db), host=host, port=port)


@app.command()
def demo(
    batteries: Annotated[int, typer.Option(help="Traction packs to simulate.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2026,
    workdir: Annotated[Path, typer.Option(help="Where the demo store and data go.")] = Path(
        "demo-data"
    ),
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load, then exit.")] = False,
) -> None:
    """Init a store, generate a province-scale fleet, import it, and serve the API."""
    from ionledger.services.demo import demo_token, prepare_demo

    try:
        settings, example = prepare_demo(workdir, batteries=batteries, seed=seed, console=console)
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    token = demo_token(settings)
    base = f"http://{host}:{port}"
    console.print(f"\n[bold]ionledger demo[/bold] - store: {settings.database_url}")
    console.print(f"  read token:    {token}  (send as 'Authorization: Bearer ...'; 7 days)")
    console.print(f"  alerts:        {base}/alerts")
    console.print(f"  API docs:      {base}/docs")
    console.print(f"  a battery:     {base}/batteries/{example}")
    console.print(f"  its events:    {base}/batteries/{example}/events")
    console.print(f"  the log:       {base}/log/checkpoint  (signed; tiles under {base}/log/tile/)")
    console.print(
        f"  on the CLI:    .venv/bin/ionledger trace {example} --db {settings.database_url}"
    )
    console.print(f"  check the log: .venv/bin/ionledger verify --db {settings.database_url}")
    console.print(f"  EPCIS query:   {base}/events?perPage=30")
    console.print(f"  reports:       {base}/reports/leakage  (also epr, cascade, recovery, carbon,")
    console.print("                 scorecard; or .venv/bin/ionledger report leakage --db ...)")
    if not no_serve:
        from ionledger.api.server import run_server

        run_server(settings, host=host, port=port)


app.add_typer(registry_app, name="registry")
app.add_typer(token_app, name="token")
app.add_typer(epr_app, name="epr")
app.add_typer(sim_app, name="sim", help="The policy and fleet simulator (national flows, levers).")
app.command()(alerts)
app.command()(rules)
app.command()(report)
app.command()(export)


def main() -> None:
    app(prog_name="ionledger")
