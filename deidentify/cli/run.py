"""``deidentify run SRC DST``: a folder of studies in, a folder that can be shared out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..batch import RunError, default_workers, progress_mode, run
from ..errors import DeidentifyError
from . import COMMANDS
from .config import add_config_argument
from .options import (
    add_executor_arguments,
    add_limit_arguments,
    add_linkage_argument,
    add_logging_arguments,
    add_profile_and_key_arguments,
    executor_of,
    limit_options,
    log_settings,
    profile_and_key,
    refuse,
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``run`` command to ``deidentify``'s sub-commands."""
    cmd = subparsers.add_parser("run", help=COMMANDS["run"])
    cmd.add_argument("src", type=Path, metavar="SRC", help="the folder of studies to de-identify (never changed)")
    cmd.add_argument("dst", type=Path, metavar="DST", help="where de-identified files go (created if missing)")
    add_profile_and_key_arguments(cmd)
    add_config_argument(cmd)
    cmd.add_argument("--workers", type=int, default=default_workers(),
                     help="worker processes (default: every core, here %(default)s); with --executor dask "
                          "the cluster's workers do the work")
    add_executor_arguments(cmd)
    add_linkage_argument(cmd)
    cmd.add_argument("--verify", action="store_true",
                     help="check each output against its input (as `check` does); withhold any with findings")
    cmd.add_argument("--accept", type=Path, metavar="FILE",
                     help="with --verify: the site's accept-list (as check takes it); findings it accepts "
                          "withhold nothing")
    cmd.add_argument("--preview-dir", type=Path, metavar="DIR",
                     help="write one before/after picture per series whose pixels were cleaned "
                          "(they show the original image: keep DIR with the originals)")
    cmd.add_argument("--restart", action="store_true",
                     help="start over: remove the outputs of earlier runs on this state folder from DST first "
                          "(needed to re-run with another profile or key)")
    cmd.add_argument("--retry-withheld", action="store_true",
                     help="redo inputs an earlier run withheld or failed (e.g. once a missing tool is installed)")
    add_limit_arguments(cmd)
    add_logging_arguments(cmd)
    cmd.add_argument("--sign", type=Path, metavar="PRIVATE_KEY",
                     help="once the run has finished writing, make DST a signed release (a BagIt bag, outputs "
                          "under DST/data/) covering every file DST holds; the key comes from 'deidentify keygen'")
    cmd.add_argument("--quiet", action="store_true", help="no progress and no summary")
    return cmd


def main(args: argparse.Namespace) -> int:
    """Run ``deidentify run`` for parsed ``args``; the exit status is :attr:`RunResult.exit_code`'s."""
    signing_key = None
    if args.sign is not None:  # a key that will not do is refused before anything is written
        from ..release import ReleaseError
        from ..release.signing_keys import load_private_key

        try:
            signing_key = load_private_key(args.sign)
        except ReleaseError as exc:
            return refuse(exc)
    try:
        profile, key = profile_and_key(args)
        if args.workers < 1:
            raise RunError("--workers must be at least 1")
        executor = executor_of(args)
        if args.accept is not None and not args.verify:
            raise RunError("--accept is the accept-list of --verify's check: give --verify too")
        accept = None
        if args.accept is not None:
            from ..checker.accept import AcceptList  # the checker loads only when asked for

            accept = AcceptList.load(args.accept)
        result = run(args.src, args.dst, profile, key, args.state, workers=args.workers,
                     progress=progress_mode(args.quiet), linkage=args.linkage, verify=args.verify,
                     preview_dir=args.preview_dir, restart=args.restart, retry_withheld=args.retry_withheld,
                     executor=executor, log_settings=log_settings(args), accept=accept, **limit_options(args))
    except DeidentifyError as exc:  # a bad profile, key, accept-list or folder: nothing was done
        return refuse(exc)
    if not args.quiet:
        print(result.summary)
        print(f"report and quarantine: {result.state}")
    if result.stopped is not None:  # said even with --quiet: the run did not finish
        print(f"deidentify: the run stopped early: {result.stopped.reason}", file=sys.stderr)
        if signing_key is not None:
            print("deidentify: DST was not signed: the run did not finish", file=sys.stderr)
        return result.exit_code
    if signing_key is not None:
        from .sign import sign_and_say

        signed = sign_and_say(args.dst, signing_key, result.state, "run --sign")
        return signed or result.exit_code
    from ..release import is_bag

    if is_bag(args.dst):
        print("deidentify: DST is a signed release and this run may have changed it: sign it again "
              "(run --sign, or deidentify sign) before it is sent", file=sys.stderr)
    return result.exit_code
