"""``hotzone serve``: the common operational picture (web page and API) in one process."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from hotzone.commands.common import (
    DURATION_S,
    PORT,
    SEED,
    InputFile,
    OutputDirectory,
    RunSource,
    SubParsers,
    positive_float_or_max,
)

if TYPE_CHECKING:
    from hotzone.api.live import Tls


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the web page and API of a run folder, or of a scenario played live",
        description="Serve the common operational picture on http://127.0.0.1:8080/ by "
        "default: with --run, the picture of a finished run folder (replay with the time "
        "slider); otherwise a shipped scenario is simulated and played through the "
        "pipeline live at --speed. The shipped users are TEST users for the demo.",
    )
    add_server_arguments(parser)
    # dest is not "run": that name holds the command's function (set_defaults below).
    parser.add_argument(
        "--run", dest="run_directory", type=RunSource(), default=None, help="run folder to serve"
    )
    parser.add_argument("--scenario", default="suwalki-drones", help="scenario name or YAML")
    parser.add_argument(
        "--out", type=OutputDirectory(), default=Path("runs"), help="parent of run folders"
    )
    parser.add_argument("--seed", type=SEED, default=1)
    parser.add_argument("--duration", type=DURATION_S, default=None, help="seconds to simulate")
    parser.add_argument(
        "--speed",
        type=positive_float_or_max,
        default=1.0,
        help="live replay speed over real time, or 'max' (default 1)",
    )
    add_effect_model_argument(parser)
    parser.set_defaults(run=run)


def add_effect_model_argument(parser: argparse.ArgumentParser) -> None:
    """--effect-model, shared with ``hotzone demo``."""
    parser.add_argument(
        "--effect-model",
        action="store_true",
        help="decide every order with the in-process effect model instead of carrying it "
        "through the real effector gateways to the simulated SAPIENT nodes and MAVLink "
        "vehicles of the scenario's gateway file (the default; docs/effectors.md)",
    )


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """--host, --port, --users and --nation, shared with ``hotzone demo --serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=PORT, default=8080, help="port to listen on")
    parser.add_argument(
        "--users",
        type=InputFile("users file", "text"),
        default=None,
        help="users file (default: the demo TEST users)",
    )
    parser.add_argument("--nation", default="PL", help="the nation whose subjects are served")
    parser.add_argument(
        "--tls-cert",
        type=InputFile("certificate (PEM)", content="text"),
        default=None,
        help="serve HTTPS with this certificate (PEM)",
    )
    parser.add_argument(
        "--tls-key",
        type=InputFile("private key (PEM)", content="text"),
        default=None,
        help="its private key (PEM)",
    )


def server_checks(args: argparse.Namespace) -> Tls | None:
    """The checks before anything is served: a port on earth, TLS given whole and readable,
    and the demo's TEST users (public passwords) never beyond this machine."""
    from hotzone.api.live import Tls
    from hotzone.api.users import DEMO_USERS_FILE, UsersFileError, load_users
    from hotzone.commands.common import CommandError

    _check_port(args.port)
    try:
        users = load_users(args.users or DEMO_USERS_FILE)
    except UsersFileError as error:
        raise CommandError(str(error)) from None
    if not _is_loopback(args.host) and any(user.test_only for user in users.values()):
        raise CommandError(
            f"--host {args.host} would expose the TEST users (public passwords) beyond this "
            "machine: serve on 127.0.0.1, or give --users with your own users"
        )
    if (args.tls_cert is None) != (args.tls_key is None):
        raise CommandError("--tls-cert and --tls-key go together")
    if args.tls_cert is None:
        return None
    for path in (args.tls_cert, args.tls_key):
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
    return Tls(certificate=args.tls_cert, key=args.tls_key)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_run_folder(args: argparse.Namespace, run_directory: Path) -> None:
    """Serve ``run_directory`` with the server arguments of ``args`` (also used by demo)."""
    from hotzone.api.live import RunFolderError, serve_run
    from hotzone.api.users import DEMO_USERS_FILE, UsersFileError
    from hotzone.commands.common import CommandError

    tls = server_checks(args)
    try:
        serve_run(
            run_directory,
            host=args.host,
            port=args.port,
            users_file=args.users or DEMO_USERS_FILE,
            nation=args.nation,
            tls=tls,
        )
    except (RunFolderError, UsersFileError) as error:
        raise CommandError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    from hotzone.api.live import serve_scenario
    from hotzone.api.users import DEMO_USERS_FILE, UsersFileError
    from hotzone.c2.config import C2ConfigError
    from hotzone.commands.common import CommandError
    from hotzone.sim.scenario import ScenarioError

    if args.run_directory is not None:
        serve_run_folder(args, args.run_directory)
        return 0
    tls = server_checks(args)
    try:
        serve_scenario(
            args.scenario,
            args.out,
            host=args.host,
            port=args.port,
            users_file=args.users or DEMO_USERS_FILE,
            nation=args.nation,
            seed=args.seed,
            speed=args.speed,
            duration_s=args.duration,
            tls=tls,
            effect_model=args.effect_model,
        )
    except (ScenarioError, UsersFileError, C2ConfigError) as error:
        raise CommandError(str(error)) from None
    return 0


def _check_port(port: int) -> None:
    from hotzone.commands.common import CommandError

    if not 0 < port < 65536:
        raise CommandError(f"--port must be between 1 and 65535, not {port}")
