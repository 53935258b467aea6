#!/usr/bin/env python3
"""Guard merges into main with a lakeFS pre-merge webhook that this script serves.

    python examples/ci_cd_hooks.py example-repo --bad

1. Start a small webhook receiver (``http.server``, in a thread) on 127.0.0.1.
2. Upload an actions file, ``_lakefs_actions/check_merges.yaml``, to ``--target`` (default
   ``main``) and commit it (unless the target has that very file already). lakeFS reads
   actions from the commit being merged, so every branch created from the target from now
   on carries it: on each merge of such a branch into the target, lakeFS POSTs a
   pre-merge event to the receiver and cancels the merge unless the receiver answers 2xx.
3. Create such a branch, upload a few data files to it (``--bad`` adds one the rule
   rejects) and commit them. The data names the branch, so every run brings a change.
4. Merge the branch into the target. While the merge waits, lakeFS calls the receiver,
   which asks lakeFS (with the SDK) for the diff the merge would bring and rejects it if
   an object would be removed, or if an added or changed object is not one of
   ``--allowed`` (default: .csv .json .parquet).
5. List the action runs on the target and print each hook's output.
6. Delete the actions file from the target again and commit that (unless ``--keep-hook``),
   whatever happened before: the receiver lives only as long as this script, and a hook
   that cannot reach it fails, which blocks every later merge of a branch that carries it.

lakeFS must be able to reach the receiver. If lakeFS runs in a container or on another
host, bind the receiver to an address it can reach (``--bind``) and tell lakeFS the URL
(``--webhook-url``).

Exit status: 0 when the merge went through; 1 when the hook blocked it or lakeFS refused
a call; 2 for bad arguments or missing connection settings.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from _common import EXIT_FAILED, add_connection_options, run_id, run_with_client

import lakefs_sdk
from lakefs_sdk import BranchCreation, CommitCreation, Merge, RefsApi
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.transfer import upload

ACTIONS_FILE = "_lakefs_actions/check_merges.yaml"
WEBHOOK_PATH = "/webhooks/pre-merge"

ACTION_TEMPLATE = """\
name: check merges into {target}
on:
  pre-merge:
    branches:
      - {target}
hooks:
  - id: check_files
    type: webhook
    description: Reject merges that remove data or bring files of other types than {allowed}
    properties:
      url: "{url}"
      timeout: 1m
"""


def check_merge(refs: RefsApi, event: Mapping[str, Any], allowed: Tuple[str, ...]) -> List[str]:
    """The problems with the changes a pre-merge event would bring; empty means accept.

    For a merge, lakeFS sends the destination as ``branch_id`` and the commit being merged
    as ``source_ref``. The (three-dot) diff from one to the other is what the merge brings.
    """
    problems = []
    for change in refs.diff_refs_iter(event["repository_id"], event["branch_id"], event["source_ref"]):
        if change.path_type != "object":
            continue
        if change.type == "removed":
            problems.append(f"{change.path}: removing data is not allowed")
        elif change.type in ("added", "changed") and not change.path.endswith(allowed):
            problems.append(f"{change.path}: only {' '.join(allowed)} files are allowed")
    return problems


class WebhookReceiver:
    """An HTTP server in a background thread that answers lakeFS pre-merge webhooks.

    It answers 200 ``{"ok": true}`` to accept a merge and 400 ``{"ok": false, "problems": [...]}``
    to reject it (lakeFS shows the body in the hook's output), and 500 when it could not
    check (lakeFS then blocks the merge too: the receiver fails closed). Use it as a
    context manager; ``url`` is where it listens and ``events`` what it received.
    """

    def __init__(self, refs: RefsApi, allowed: Tuple[str, ...], host: str = "127.0.0.1", port: int = 0) -> None:
        self.refs = refs
        self.allowed = allowed
        self.events: List[Tuple[Dict[str, Any], List[str]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The webhook URL, e.g. ``http://127.0.0.1:8765/webhooks/pre-merge``."""
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}{WEBHOOK_PATH}"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, body: bytes) -> Tuple[int, Dict[str, Any]]:
        """Check one webhook request body; return the status and JSON answer."""
        try:
            event = json.loads(body)
            if event.get("event_type") != "pre-merge":
                return 400, {"ok": False, "problems": [f"unexpected event type {event.get('event_type')!r}"]}
            problems = check_merge(self.refs, event, self.allowed)
        except (ValueError, KeyError, AttributeError) as error:
            return 400, {"ok": False, "problems": [f"not a lakeFS pre-merge event: {error!r}"]}
        except lakefs_sdk.ApiException as error:
            return 500, {"ok": False, "problems": [f"could not read the diff: {error.status} {error.message}"]}
        with self._lock:
            self.events.append((event, problems))
        print(f"webhook: {event['source_ref']} -> {event['branch_id']}: "
              f"{'rejected, ' + '; '.join(problems) if problems else 'accepted'}")
        return (400 if problems else 200), {"ok": not problems, "problems": problems}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != WEBHOOK_PATH:
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                status, answer = receiver.handle(self.rfile.read(length))
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # handle() prints one line per event instead

        return Handler


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", help="repository name")
    parser.add_argument("--target", default="main", help="branch whose merges the hook checks (default: main)")
    parser.add_argument("--branch", help="branch to create and merge (default: feature-<time>-<random>)")
    parser.add_argument("--bad", action="store_true", help="also upload a file the rule rejects")
    parser.add_argument("--allowed", nargs="+", default=[".csv", ".json", ".parquet"], metavar="SUFFIX",
                        help="file name endings allowed into the target (default: .csv .json .parquet)")
    parser.add_argument("--bind", default="127.0.0.1", help="address the receiver listens on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port the receiver listens on (default: any free port)")
    parser.add_argument("--webhook-url", help="URL lakeFS calls (default: the receiver's own address)")
    parser.add_argument("--runs", type=int, default=3, help="how many recent action runs to show (default: 3)")
    parser.add_argument("--keep-hook", action="store_true",
                        help="leave the actions file on the target (its merges then call --webhook-url)")
    add_connection_options(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the demonstration; return the exit status."""
    args = parse_args(argv)

    def with_receiver(client: LakeFSClient) -> int:
        with WebhookReceiver(client.refs_api, tuple(args.allowed), args.bind, args.port) as receiver:
            print(f"webhook receiver listening on {receiver.url}")
            return run(client, args, receiver)

    return run_with_client(args, with_receiver)


def run(client: LakeFSClient, args: argparse.Namespace, receiver: WebhookReceiver) -> int:
    """Install the hook, make a branch with changes, merge it, show what the hook did, remove the hook."""
    repo, target = args.repo, args.target
    action = ACTION_TEMPLATE.format(target=target, allowed=" ".join(args.allowed), url=args.webhook_url or receiver.url)
    install_hook(client, repo, target, action.encode())
    try:
        return merge_with_hook(client, args, receiver)
    finally:
        if not args.keep_hook:
            client.objects_api.delete_object(repo, target, ACTIONS_FILE)
            client.commits_api.commit(repo, target, CommitCreation(message="Remove the pre-merge webhook"))
            print(f"removed {ACTIONS_FILE} from {target}")


def install_hook(client: LakeFSClient, repo: str, target: str, action: bytes) -> None:
    """Put the actions file on ``target`` and commit it; nothing to do if it is there as it is."""
    try:
        if client.objects_api.get_object(repo, target, ACTIONS_FILE) == action:
            print(f"{ACTIONS_FILE} is on {target} already")
            return
    except lakefs_sdk.NotFoundException:
        pass
    upload(client.objects_api, repo, target, ACTIONS_FILE, action)
    client.commits_api.commit(repo, target, CommitCreation(message="Check merges with a pre-merge webhook"))
    print(f"installed {ACTIONS_FILE} on {target}")


def merge_with_hook(client: LakeFSClient, args: argparse.Namespace, receiver: WebhookReceiver) -> int:
    """Make a branch with changes, merge it into the target, show the action runs; return the exit status."""
    repo, target = args.repo, args.target
    branch = args.branch or f"feature-{run_id()}"
    client.branches_api.create_branch(repo, BranchCreation(name=branch, source=target))
    # The batch column names the branch: a second run brings changes too, so it has something to commit.
    files = {
        "tables/events/part-0001.csv": f"id,kind,batch\n1,click,{branch}\n".encode(),
        "tables/events/schema.json": b'{"id": "int", "kind": "string", "batch": "string"}\n',
    }
    if args.bad:
        files["tables/events/notes.txt"] = b"remember to drop column kind\n"
    for path, data in files.items():
        upload(client.objects_api, repo, branch, path, data)
    client.commits_api.commit(repo, branch, CommitCreation(message=f"Add {len(files)} files"))
    print(f"committed {len(files)} files on {branch}")

    try:
        result = client.refs_api.merge_into_branch(repo, branch, target, merge=Merge(message=f"Merge {branch}"))
        print(f"merged {branch} into {target}: commit {result.reference}")
        status = 0
    except lakefs_sdk.PreconditionFailedException as error:
        # lakeFS answers 412 when a pre-merge hook fails.
        print(f"merge blocked by the pre-merge hook: {error.message}")
        status = EXIT_FAILED
    if not receiver.events:
        print(f"the receiver got no event: check that lakeFS can reach {args.webhook_url or receiver.url}")

    show_runs(client, repo, target, args.runs)
    return status


def show_runs(client: LakeFSClient, repo: str, branch: str, count: int) -> None:
    """Print the latest ``count`` action runs on ``branch``, with each hook's status and output."""
    actions = client.actions_api
    for run in islice(actions.list_repository_runs_iter(repo, branch=branch), count):
        print(f"run {run.run_id}: {run.event_type} {run.status} (commit {run.commit_id})")
        for hook in actions.list_run_hooks_iter(repo, run.run_id):
            print(f"  hook {hook.hook_id} of {hook.action}: {hook.status}")
            output = actions.get_run_hook_output(repo, run.run_id, hook.hook_run_id)
            for line in output.decode("utf-8", errors="replace").splitlines():
                print(f"    | {line}")


if __name__ == "__main__":
    sys.exit(main())
