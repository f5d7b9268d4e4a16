"""``khabar``: run the local stack, feed it, query it, and enrich files without Kafka.

- ``khabar up [--demo]``: broker, search server and the four services on loopback.
- ``khabar ingest PATH|URL…``: read files, directories, JSON Lines or feeds and submit them to
  the running API (``KHABAR_API_PORT``), the same way any client would.
- ``khabar search QUERY``: query the running API.
- ``khabar enrich PATH…|-``: the enrichment in-process; one JSON object per input article, in
  input order, with an error object in place of any bad input.
- ``khabar serve NAME``: run one service in the foreground (what ``up`` and containers run).
- ``khabar dlq list|replay``: inspect dead letters and send them back through the chain.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from services.ingest.sources import SourceItem, parse_json_lines, read_path, read_url
from shared.errors import KhabarError
from shared.models import ArticleSubmission, ErrorRecord, KhabarModel
from shared.settings import ClientSettings

if TYPE_CHECKING:
    from services.localstack import LocalStack

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Khabar: multilingual news, enriched."
)
console = Console(stderr=True)
DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"


def _emit(model: KhabarModel) -> None:
    sys.stdout.write(model.model_dump_json() + "\n")


# --------------------------------------------------------------------------- serve


@app.command()
def serve(name: Annotated[str, typer.Argument(help="ingest, enrich, index or api")]) -> None:
    """Run one service in the foreground until SIGTERM."""
    if name == "api":
        from services.api.app import main as run
    elif name == "ingest":
        from services.ingest.service import main as run
    elif name == "enrich":
        from services.enrich.app import main as run
    elif name == "index":
        from services.index.app import main as run
    else:
        raise typer.BadParameter(f"unknown service {name!r}")
    run()


# --------------------------------------------------------------------------- up


@app.command()
def up(
    demo: Annotated[
        bool, typer.Option(help="Ingest the bundled demo articles once ready.")
    ] = False,
    fresh: Annotated[
        bool, typer.Option(help="Delete the local broker and search data first.")
    ] = False,
    directory: Annotated[Path, typer.Option(help="Where data and logs go.")] = Path(".khabar"),
) -> None:
    """Start the whole local stack and keep it running until Ctrl-C."""
    from services.localstack import LocalStack, StackPorts

    ports = StackPorts.from_environment()
    stack = LocalStack(directory.resolve(), ports)
    if fresh:
        for data in ("kafka", "elasticsearch"):
            shutil.rmtree(stack.directory / data, ignore_errors=True)
    stopping = False

    def request_stop(signum: int, _: Any) -> None:
        nonlocal stopping
        stopping = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, request_stop)
    try:
        _start(stack)
        if demo:
            _ingest_demo(stack.directory / "inbox", stack.api_url)
        _print_addresses(stack)
        while not stopping:
            _check_children(stack)
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    except KhabarError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    finally:
        with console.status("stopping…"):
            codes = stack.stop()
        console.print(f"stopped: {', '.join(f'{k}={v}' for k, v in codes.items())}")


def _start(stack: LocalStack) -> None:
    with console.status(
        "starting Apache Kafka and Elasticsearch (the first run fetches them with Maven)…"
    ):
        stack.start_infrastructure()
    console.print(
        f"[green]✓[/] Kafka {stack.kafka_bootstrap}   Elasticsearch {stack.elasticsearch_url}"
    )
    with console.status("starting ingest, enrich, index and api (first start takes ~10-30 s)…"):
        stack.start_services()
    console.print("[green]✓[/] services ready")


def _print_addresses(stack: LocalStack) -> None:
    api, ports = stack.api_url, stack.ports
    console.print(
        f"\n[bold]Khabar is running[/]\n"
        f"  web        {api}/ui/\n"
        f"  API        {api}\n"
        f"  API docs   {api}/docs\n"
        f"  search     {api}/search?q=Pakistan\n"
        f"  metrics    {api}/metrics, http://127.0.0.1:{ports.enrich}/metrics, "
        f"http://127.0.0.1:{ports.index}/metrics\n"
        f"  drop folder {stack.directory / 'inbox'}   logs {stack.directory / 'logs'}\n"
        f"  try: khabar search Pakistan   |   khabar ingest demo/\n"
        f"Ctrl-C stops everything."
    )


def _check_children(stack: LocalStack) -> None:
    for child in list(stack.children.values()):
        if not child.alive():
            console.print(f"[red]{child.name} exited[/]:\n{child.tail()}")
            raise KhabarError(f"{child.name} exited")


def _ingest_demo(inbox: Path, api_url: str) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    files = sorted(
        p for p in DEMO_DIR.rglob("*") if p.is_file() and p.suffix in {".jsonl", ".txt", ".xml"}
    )
    expected = sum(1 for f in files for item in read_path(f) if item.article)
    for path in files:
        shutil.copy(path, inbox / path.name)
    with console.status(f"ingesting {expected} demo articles through the pipeline…"):
        deadline = time.monotonic() + 90
        total = 0
        while time.monotonic() < deadline:
            try:
                total = httpx.get(f"{api_url}/search", params={"size": 1}, timeout=5).json()[
                    "total"
                ]
            except (httpx.HTTPError, KeyError, ValueError):
                total = 0
            if total >= expected:
                break
            time.sleep(1)
    console.print(f"[green]✓[/] {total} demo articles searchable")


# --------------------------------------------------------------------------- ingest / search


def _submissions(items: list[SourceItem]) -> tuple[list[dict[str, Any]], list[ErrorRecord]]:
    good: list[dict[str, Any]] = []
    bad: list[ErrorRecord] = []
    for item in items:
        if item.article is not None:
            article = item.article
            good.append(
                ArticleSubmission(
                    title=article.title,
                    body=article.body,
                    url=article.url,
                    source=article.source,
                    published_at=article.published_at,
                    language=article.language_hint,
                ).model_dump(mode="json", exclude_none=True)
            )
        elif item.error is not None:
            bad.append(item.error)
    return good, bad


@app.command()
def ingest(
    sources: Annotated[
        list[str], typer.Argument(help="Files, directories, JSON Lines, feed files or URLs.")
    ],
) -> None:
    """Submit articles to the running stack's API."""
    client = ClientSettings()
    items: list[SourceItem] = []
    for source in sources:
        if source.startswith(("http://", "https://")):
            items.extend(asyncio.run(read_url(source)))
        else:
            items.extend(read_path(Path(source)))
    good, bad = _submissions(items)
    for error in bad:
        console.print(f"[yellow]skipped[/] {error.input}: {error.error}")
    headers = {"X-API-Key": client.api_key.get_secret_value()} if client.api_key else {}
    accepted = 0
    try:
        with httpx.Client(base_url=client.base_url, timeout=60, headers=headers) as http:
            for start in range(0, len(good), 200):
                response = http.post("/articles/batch", json=good[start : start + 200])
                if response.status_code != 202:
                    console.print(
                        f"[red]API refused[/] ({response.status_code}): {response.text[:500]}"
                    )
                    raise typer.Exit(1)
                accepted += len(response.json()["ids"])
    except httpx.HTTPError as exc:
        console.print(
            f"[red]cannot reach the API at {client.base_url}[/]: {exc}. Is `make run` running?"
        )
        raise typer.Exit(1) from exc
    console.print(f"accepted {accepted} articles, skipped {len(bad)}")
    if bad and not accepted:
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Text in Urdu, Hindi or English.")],
    lang: Annotated[list[str] | None, typer.Option(help="Language filter (repeatable).")] = None,
    entity: Annotated[list[str] | None, typer.Option(help="Entity id filter (repeatable).")] = None,
    size: Annotated[int, typer.Option(min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")] = False,
) -> None:
    """Search the running stack."""
    client = ClientSettings()
    params: list[tuple[str, str | int | float | bool | None]] = [("q", query), ("size", size)]
    params += [("lang", value) for value in lang or []] + [
        ("entity", value) for value in entity or []
    ]
    try:
        response = httpx.get(f"{client.base_url}/search", params=params, timeout=30)
    except httpx.HTTPError as exc:
        console.print(
            f"[red]cannot reach the API at {client.base_url}[/]: {exc}. Is `make run` running?"
        )
        raise typer.Exit(1) from exc
    if response.status_code != 200:
        console.print(f"[red]search failed[/] ({response.status_code}): {response.text[:500]}")
        raise typer.Exit(1)
    body = response.json()
    if as_json:
        sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        return
    out = Console()
    out.print(f"{body['total']} results")
    for hit in body["hits"]:
        entities = ", ".join(f"{e['name']} ({e['type']})" for e in hit["entities"][:6])
        out.print(f"[bold]{hit.get('title') or '(untitled)'}[/]  [{hit['language']}]  {hit['id']}")
        if entities:
            out.print(f"   {entities}")


# --------------------------------------------------------------------------- enrich


def _enrich_inputs(paths: list[str]) -> Iterator[SourceItem]:
    for path in paths:
        if path == "-":
            yield from parse_json_lines(sys.stdin, "<stdin>")
        else:
            yield from read_path(Path(path))


@app.command()
def enrich(
    paths: Annotated[list[str], typer.Argument(help="Text or JSON Lines files, or - for stdin.")],
) -> None:
    """Enrich articles in-process (no Kafka) and print one JSON object per article."""
    from services.enrich.pipeline import Enricher

    enricher = Enricher()
    for item in _enrich_inputs(paths):
        if item.article is None:
            _emit(
                item.error
                or ErrorRecord(
                    error="unreadable input", error_type="InvalidArticleError", input=item.origin
                )
            )
            continue
        try:
            _emit(enricher.enrich(item.article))
        except Exception as exc:  # noqa: BLE001 - an error object on its line, never a missing line
            _emit(
                ErrorRecord(
                    error=str(exc) or type(exc).__name__,
                    error_type=type(exc).__name__,
                    input=item.origin,
                )
            )


# --------------------------------------------------------------------------- reindex


@app.command()
def reindex() -> None:
    """Copy the index behind KHABAR_INDEX_ALIAS into the current version (vectors, stories)
    and move the alias there; safe to run again."""
    from services.index.app import story_policy
    from services.index.reindex import ReindexReport
    from services.index.reindex import reindex as run_reindex
    from services.index.stories import encoder_for
    from shared.elastic import make_client
    from shared.settings import IndexSettings
    from shared.story_vectors import shared_story_encoder
    from shared.vectors import shared_embedder

    settings = IndexSettings()

    async def run() -> ReindexReport:
        es = make_client(settings)
        try:
            with console.status("reindexing…") as status:
                return await run_reindex(
                    es,
                    settings.index_alias,
                    shared_embedder(),
                    story_policy(settings),
                    lambda r: status.update(
                        f"reindexing: {r.copied} copied, {r.embedded} embedded"
                    ),
                    encoder_for(shared_story_encoder(settings.index_story_threads)),
                )
        finally:
            await es.close()

    try:
        report = asyncio.run(run())
    except KhabarError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    if not report.source:
        console.print(f"{report.alias} already points at {report.target}: nothing to do")
        return
    console.print(
        f"[green]✓[/] {report.copied} articles copied from {', '.join(report.source)} to "
        f"{report.target} ({report.embedded} embedded, {report.skipped} skipped); "
        f"{report.alias} now points at {report.target}"
    )


# --------------------------------------------------------------------------- dlq

dlq_app = typer.Typer(no_args_is_help=True, help="List and replay dead letters (articles.dlq).")
app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(min=1, help="Show the newest N.")] = 50,
    stage: Annotated[str | None, typer.Option(help="Only this stage: enrich, index…")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List dead letters: where they sit, which stage failed, why."""
    from services.dlq import list_dead_letters
    from shared.settings import KhabarSettings

    try:
        letters = asyncio.run(list_dead_letters(KhabarSettings(), stage=stage, limit=limit))
    except KhabarError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    table = Table("position", "stage", "article", "failed at", "error", box=None)
    for stored in letters:
        letter = stored.letter
        if as_json:
            row = {"position": stored.position, "problem": stored.problem}
            if letter is not None:
                row.update(letter.model_dump(mode="json", exclude={"original_b64"}))
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif letter is None:
            table.add_row(stored.position, "-", "-", "-", stored.problem)
        else:
            table.add_row(
                stored.position,
                letter.stage,
                stored.article_id or "-",
                letter.failed_at.isoformat(),
                f"{letter.error_type}: {letter.error[:200]}",
            )
    if not as_json:
        Console().print(table)
    console.print(f"{len(letters)} dead letters")


@dlq_app.command("replay")
def dlq_replay(
    article_id: Annotated[
        list[str] | None, typer.Option("--id", help="Article id to replay (repeatable).")
    ] = None,
    offset: Annotated[
        list[str] | None,
        typer.Option("--offset", help="Dead letter at PARTITION:OFFSET (repeatable)."),
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every dead letter.")] = False,
    stage: Annotated[str | None, typer.Option(help="Only this stage's letters.")] = None,
) -> None:
    """Re-publish dead letters' original bytes to their stage's input topic."""
    from services.dlq import list_dead_letters, replay, select
    from shared.settings import KhabarSettings

    if not (article_id or offset or replay_all):
        raise typer.BadParameter("say what to replay: --id, --offset or --all")
    settings = KhabarSettings()
    try:
        letters = asyncio.run(list_dead_letters(settings, stage=stage))
        chosen = select(
            letters, ids=article_id or (), positions=offset or (), everything=replay_all
        )
        topics = asyncio.run(replay(settings, chosen))
    except KhabarError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    table = Table("position", "article", "replayed to", box=None)
    for stored, topic in zip(chosen, topics, strict=True):
        table.add_row(stored.position, stored.article_id or "-", topic)
    Console().print(table)
    console.print(f"replayed {len(topics)} dead letters")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
