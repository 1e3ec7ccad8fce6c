"""The ``livetrade`` command: ``serve`` runs a session headless behind the REST API, ``lab`` opens
JupyterLab on the quickstart notebook.

    livetrade serve --feed sim --broker paper --port 8000          # http://127.0.0.1:8000/docs
    LIVETRADE_API_TOKEN=... livetrade serve --host 0.0.0.0          # off-loopback needs a token
    livetrade lab

``serve`` owns its event loop (``asyncio.run``): the session's market task and uvicorn run side by
side in it, and SIGINT/SIGTERM stop both cleanly (exit status 0). The session journals to
``<journal dir>/<name>.sqlite`` unless ``--no-journal``, so serving the same ``--name`` again
resumes its cash, positions and open orders. Usage errors exit with status 2 and one sentence.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from livetrade import __version__
from livetrade.errors import InvalidInput, LiveTradeError
from livetrade.net import positive_number

log = logging.getLogger("livetrade.cli")

TOKEN_ENV = "LIVETRADE_API_TOKEN"
QUICKSTART = Path("notebooks") / "01-quickstart.ipynb"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not between 0 and 65535")
    return port


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed so docs and tests can read the options)."""
    parser = argparse.ArgumentParser(
        prog="livetrade",
        description="Paper/live trading of Indian markets via Fyers: a Jupyter workbench.",
    )
    parser.add_argument("--version", action="version", version=f"livetrade {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run a session headless behind the REST API",
        description="Open a session (simulated market and paper broker by default) and serve "
        "the REST API /api/live-trading/* until SIGINT or SIGTERM.",
    )
    serve.add_argument(
        "--feed",
        default="sim",
        help="market data: 'sim' (default), 'replay' (with --replay) or 'fyers' "
        "(token from FYERS_ACCESS_TOKEN or the token file)",
    )
    serve.add_argument(
        "--broker",
        default="paper",
        help="order execution: 'paper' (default) or 'fyers' (real orders: needs --live)",
    )
    serve.add_argument(
        "--live",
        action="store_true",
        help="with --broker fyers: send real orders to Fyers (the session opens NOT armed)",
    )
    serve.add_argument(
        "--arm-live",
        default=None,
        metavar="LIVE",
        help="arm live trading at start: give the word LIVE; refused while the reconciliation "
        "with Fyers shows differences",
    )
    serve.add_argument(
        "--shadow", action="store_true", help="with --live: run a paper engine beside it"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1); any non-loopback address needs a token",
    )
    serve.add_argument("--port", type=_port, default=8000, help="TCP port (default 8000; 0: any)")
    serve.add_argument(
        "--token",
        default=None,
        help=f"API token clients send as 'Authorization: Bearer <token>'; prefer the {TOKEN_ENV} "
        "environment variable (a command line is visible to other users)",
    )
    serve.add_argument("--seed", type=int, default=None, help="seed of the simulated market")
    serve.add_argument("--name", default="default", help="session name (default 'default')")
    serve.add_argument(
        "--speed", type=positive_number, default=1.0, help="market steps per second (default 1)"
    )
    serve.add_argument("--replay", default=None, help="CSV of recorded quotes for --feed replay")
    serve.add_argument(
        "--hub", default=None, help="Redis URL of a 'livetrade hub', with --feed hub"
    )
    serve.add_argument(
        "--watch",
        default="",
        help="comma-separated symbols to subscribe, e.g. NSE:SBIN-EQ,NSE:NIFTY50-INDEX "
        "(needed with --feed fyers; adds symbols to a simulated market)",
    )
    serve.add_argument(
        "--no-journal",
        action="store_true",
        help="throwaway session: keep no SQLite journal, so nothing is restored on the next start "
        "(by default orders and fills are journaled and 'serve' with the same --name resumes)",
    )
    serve.add_argument(
        "--journal-dir",
        default=None,
        help="where <name>.sqlite lives (default $LIVETRADE_DATA_DIR or ~/.local/share/livetrade)",
    )
    serve.add_argument(
        "--no-update-price",
        action="store_true",
        help="refuse POST update-price even on a simulated market",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="logging level (default info; access lines never contain the token)",
    )

    lab = sub.add_parser(
        "lab",
        help="open JupyterLab on the quickstart notebook",
        description="exec 'jupyter lab <notebook>' (adding --allow-root when run as root).",
    )
    lab.add_argument(
        "--notebook",
        default=None,
        help=f"notebook to open (default {QUICKSTART.as_posix()})",
    )
    lab.add_argument("--port", type=_port, default=None, help="JupyterLab's port")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")

    sub.add_parser(
        "hub",
        help="run the feed hub: one feed fanned out to many sessions over Redis Streams",
        description="Options after 'hub' go to the hub; see 'hub --help'.",
        add_help=False,
    )
    sub.add_parser(
        "fake-fyers",
        help="run the local fake Fyers server (data socket + REST) for tests and tutorials",
        description="Options after 'fake-fyers' go to the fake server; see 'fake-fyers --help'.",
        add_help=False,
    )

    login = sub.add_parser(
        "login",
        help="log in to Fyers (auth-code flow) and save the day's access token (mode 0600)",
        description="Prints the Fyers login URL; paste back the URL your browser was "
        "redirected to. The app secret comes from $FYERS_APP_SECRET or a hidden prompt, never "
        "the command line.",
    )
    login.add_argument("--app-id", required=True, help="your Fyers app id, e.g. XXXXXXXXXX-100")
    login.add_argument("--redirect-uri", required=True, help="the redirect URI of the app")
    login.add_argument("--state", default="livetrade", help="state echoed back by Fyers")
    login.add_argument("--token-file", default=None, help="where to save the token")
    login.add_argument(
        "--base-url", default=None, help="Fyers API base URL (for the local fake server)"
    )

    journal = sub.add_parser(
        "journal",
        help="export, check or back up a session's journal",
        description="Work with a session's journal (every order, fill and cancel).",
    )
    jsub = journal.add_subparsers(dest="journal_command", required=True, metavar="ACTION")
    export = jsub.add_parser(
        "export",
        help="write the journal of session NAME as CSV or Parquet",
        description="Write every journaled event of session NAME to a file (or CSV to stdout).",
    )
    export.add_argument("name", help="session name (the journal file is NAME.sqlite)")
    export.add_argument("--format", choices=["csv", "parquet"], default="csv")
    export.add_argument(
        "--journal-dir",
        default=None,
        help="folder holding the journal (default $LIVETRADE_DATA_DIR or ~/.local/share/livetrade)",
    )
    export.add_argument(
        "-o", "--output", default=None, help="output file (default NAME.csv / NAME.parquet; "
        "'-' writes CSV to stdout)"
    )  # fmt: skip
    check = jsub.add_parser(
        "check",
        help="verify the journal of session NAME (exit 0 if sound, 1 if damaged)",
        description="Check session NAME's journal without changing it: SQLite's integrity "
        "check, every row decodes and matches the hash chain, and the rows restore into a "
        "throwaway engine. Prints one line: the verdict, or the damaged row and why.",
    )
    check.add_argument("name", help="session name (the journal file is NAME.sqlite)")
    backup = jsub.add_parser(
        "backup",
        help="copy the journal of session NAME consistently (WAL included) and check the copy",
        description="Copy NAME.sqlite together with the newest commits in NAME.sqlite-wal into "
        "one self-contained file with SQLite's backup API, then check the copy. Never "
        "overwrites DEST. A journal a running session holds is locked: back it up from that "
        "session with session.backup_journal(DEST).",
    )
    backup.add_argument("name", help="session name (the journal file is NAME.sqlite)")
    backup.add_argument("dest", help="the new backup file (or a folder to put NAME.sqlite in)")
    for command in (check, backup):
        command.add_argument(
            "--journal-dir",
            default=None,
            help="folder holding the journal "
            "(default $LIVETRADE_DATA_DIR or ~/.local/share/livetrade)",
        )
    return parser


def _login(args: argparse.Namespace) -> int:
    """The auth-code flow on a terminal: URL out, redirected URL in, token saved 0600."""
    import getpass

    from livetrade.errors import AuthError
    from livetrade.fyers import auth

    base = args.base_url or auth.DEFAULT_API_URL
    print("Open this URL, log in, and paste the URL your browser lands on:", file=sys.stderr)
    print(auth.login_url(args.app_id, args.redirect_uri, args.state, base_url=base))
    try:
        redirected = input("redirected URL (or auth code): ").strip()
        secret = os.environ.get("FYERS_APP_SECRET") or getpass.getpass("app secret: ")
        token = asyncio.run(
            auth.fyers_login(
                args.app_id,
                secret,
                redirected,
                state=args.state,
                base_url=base,
                path=args.token_file,
            )
        )
    except (AuthError, EOFError) as exc:
        return _fail("login", str(exc) or "no input")
    where = args.token_file or auth.default_token_path()
    print(f"saved the access token to {where} (mode 600); {token.describe()}", file=sys.stderr)
    return 0


def _journal_export(args: argparse.Namespace) -> int:
    """Export one journal; refuses a missing, locked, damaged or newer journal with its reason."""
    from pathlib import Path

    from livetrade.journal import Journal, JournalError, default_dir

    path = Path(args.journal_dir or default_dir()) / f"{args.name}.sqlite"
    if not path.exists():
        return _fail("journal export", f"no journal for session {args.name!r} at {path}")
    try:
        with Journal(path) as journal:
            frame = journal.to_frame()
    except JournalError as exc:
        return _fail("journal export", str(exc))
    out = args.output or f"{args.name}.{args.format}"
    if out == "-":
        if args.format != "csv":
            return _fail("journal export", "only CSV can go to stdout")
        frame.to_csv(sys.stdout, index=False)
        return 0
    if args.format == "parquet":
        try:
            frame.to_parquet(out, index=False)
        except ImportError:
            return _fail(
                "journal export", "Parquet needs pyarrow: pip install 'livetrade[parquet]'"
            )
    else:
        frame.to_csv(out, index=False)
    print(f"wrote {len(frame)} events to {out}", file=sys.stderr)
    return 0


def _journal_check(args: argparse.Namespace) -> int:
    """One line: the verdict (exit 0) or the damaged row and why (exit 1); 2 if it could not
    be checked at all (missing, in use, newer schema)."""
    from livetrade.journal import JournalCorrupt, JournalError, JournalLocked, check, default_dir

    path = Path(args.journal_dir or default_dir()) / f"{args.name}.sqlite"
    if not path.exists() and not path.with_name(path.name + "-wal").exists():
        return _fail("journal check", f"no journal for session {args.name!r} at {path}")
    try:
        summary = check(path)
    except JournalLocked:
        return _fail(
            "journal check",
            f"journal {path} is held by a running session (it keeps its journal locked), so "
            "another process cannot check it; close that session and run this again",
        )
    except JournalCorrupt as exc:
        return _fail("journal check", str(exc), status=1)
    except JournalError as exc:
        return _fail("journal check", str(exc))
    print(summary)
    return 0


def _journal_backup(args: argparse.Namespace) -> int:
    """Back up with SQLite's backup API (the -wal's commits included) and check the copy."""
    from livetrade.journal import Journal, JournalCorrupt, JournalError, JournalLocked, default_dir

    path = Path(args.journal_dir or default_dir()) / f"{args.name}.sqlite"
    if not path.exists() and not path.with_name(path.name + "-wal").exists():
        return _fail("journal backup", f"no journal for session {args.name!r} at {path}")
    try:
        with Journal(path, read_only=True) as journal:
            summary = journal.backup(args.dest)
    except JournalLocked:
        return _fail(
            "journal backup",
            f"journal {path} is held by a running session (it keeps its journal locked), so "
            "another process cannot copy it consistently; in that session run "
            f"session.backup_journal({args.dest!r}), or close it and run this again",
        )
    except JournalCorrupt as exc:
        return _fail("journal backup", f"{exc} (no backup was written)", status=1)
    except JournalError as exc:
        return _fail("journal backup", str(exc))
    print(f"backed up {path}: {summary}")
    return 0


def _fail(command: str, message: str, status: int = 2) -> int:
    print(f"livetrade {command}: error: {message}", file=sys.stderr)
    return status


# ====================================================================== serve
def _serve(args: argparse.Namespace) -> int:
    from livetrade.api import check_exposure

    token: str | None = args.token if args.token is not None else os.environ.get(TOKEN_ENV)
    try:
        check_exposure(args.host, token)
    except InvalidInput as exc:
        return _fail("serve", exc.reason)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(_serve_async(args, token))
    except LiveTradeError as exc:
        from livetrade.journal import JournalLocked

        hint = ""
        if isinstance(exc, JournalLocked):  # the sentence names the notebook spelling
            hint = f" From the shell: livetrade serve --name {args.name}-2 ..."
        return _fail("serve", f"{exc}{hint}")
    except OSError as exc:  # e.g. the port is taken
        return _fail("serve", f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")


async def _serve_async(args: argparse.Namespace, token: str | None) -> int:
    """Session and server in one loop; a signal sets ``stop`` and both shut down in order."""
    from livetrade.api import PREFIX, serve_api
    from livetrade.session import open_session

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):  # installed first: a signal during start-up counts
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C raises KeyboardInterrupt
            pass
    try:
        session = await open_session(
            feed=args.feed,
            broker=args.broker,
            name=args.name,
            seed=args.seed,
            realtime=True,
            speed=args.speed,
            replay=args.replay,
            hub=args.hub,
            journal=not args.no_journal,
            journal_dir=args.journal_dir,
            live=args.live,
            shadow=args.shadow,
        )
        try:
            if args.arm_live is not None:
                await session.arm_live(confirm=args.arm_live)
            if args.watch:
                await session.watch([w.strip() for w in args.watch.split(",") if w.strip()])
            server = await serve_api(
                session,
                host=args.host,
                port=args.port,
                token=token,
                allow_update_price=not args.no_update_price,
            )
            try:
                mode = session.mode
                journal = session.journal.path if session.journal is not None else "off"
                print(
                    f"livetrade: session {session.name!r} ({mode}, {args.feed} feed, journal "
                    f"{journal}) serving {server.url}{PREFIX} (docs {server.url}/docs); "
                    f"auth {'on' if token else 'off'}; SIGINT/SIGTERM stops",
                    flush=True,
                )
                waiter = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, server.task}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if stop.is_set():
                    log.info("signal received; shutting down")
            finally:
                await server.stop()
        finally:
            await session.close()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    if not stop.is_set():
        log.error("the API server stopped on its own")
        return 1
    return 0


# ====================================================================== lab
def _jupyter() -> str | None:
    """The ``jupyter`` beside this interpreter (the venv's), else the one on PATH."""
    here = Path(sys.executable).parent / ("jupyter.exe" if os.name == "nt" else "jupyter")
    return str(here) if here.exists() else shutil.which("jupyter")


def _is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0


def _lab(args: argparse.Namespace) -> int:
    jupyter = _jupyter()
    if jupyter is None:
        return _fail("lab", "JupyterLab is not installed; pip install 'livetrade[lab]'")
    argv = [jupyter, "lab"]
    notebook: Path | None
    if args.notebook is not None:
        notebook = Path(args.notebook)
        if not notebook.exists():
            return _fail("lab", f"no notebook at {args.notebook}")
    else:
        repo = Path(__file__).resolve().parent.parent
        notebook = next((p for p in (QUICKSTART, repo / QUICKSTART) if p.exists()), None)
        if notebook is None:
            print(
                f"livetrade lab: {QUICKSTART.as_posix()} not found; opening JupyterLab without it",
                file=sys.stderr,
            )
    if notebook is not None:
        argv.append(str(notebook))
    if args.port is not None:
        argv.append(f"--port={args.port}")
    if args.no_browser:
        argv.append("--no-browser")
    if _is_root():
        argv.append("--allow-root")  # JupyterLab refuses to run as root without it
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(jupyter, argv)
    return 0  # only reached when execv is replaced (tests)


# ====================================================================== entry point
def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (2 for usage errors)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fake-fyers"]:
        from livetrade.testing.fake_fyers import main as fake_main

        return fake_main(argv[1:])
    if argv[:1] == ["hub"]:
        from livetrade.hub.server import hub_main

        return hub_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "journal":
        if args.journal_command == "check":
            return _journal_check(args)
        if args.journal_command == "backup":
            return _journal_backup(args)
        return _journal_export(args)
    if args.command == "login":
        return _login(args)
    return _lab(args)


if __name__ == "__main__":
    raise SystemExit(main())
