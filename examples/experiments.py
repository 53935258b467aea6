#!/usr/bin/env python3
"""Run experiments side by side, one lakeFS branch each, and keep only the winner.

    python examples/experiments.py example-repo --learning-rates 0.001 0.005 0.02

Each experiment gets its own branch from ``--base`` (default ``main``), named
``<prefix>-<run>-<n>``, where ``<run>`` (the time and a random suffix, or ``--run``) is new
for every run, so a second run never meets the branches of the first. The "training" is a
toy gradient descent, so the example runs anywhere. Every experiment writes its artifacts
to the same paths -- ``model/params.json`` (which names the experiment),
``model/weights.json`` and ``model/metrics.json`` -- and commits them with its metrics as
commit metadata; branches keep the experiments from seeing each other's files. The
experiment with the lowest loss is merged into ``--base``, so that ``model/`` there is the
winner's; the other branches are deleted, and the winner's is kept as a record. If a call
fails midway, the branches this run created are deleted before it exits.

Exit status: 0 when the winner is merged; 1 when lakeFS refused a call; 2 for bad
arguments or missing connection settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from _common import add_connection_options, run_id, run_with_client

import lakefs_sdk
from lakefs_sdk import BranchCreation, CommitCreation, Merge
from lakefs_sdk.client import LakeFSClient
from lakefs_sdk.transfer import upload

# The toy problem: learn w in y = w * x from these points (the answer is 3).
POINTS = [(x, 3.0 * x) for x in (1.0, 2.0, 3.0, 4.0, 5.0)]


@dataclass
class Experiment:
    """One experiment: its branch, parameters, and results once trained and committed."""

    branch: str
    learning_rate: float
    weight: float = 0.0
    loss: float = float("inf")
    commit_id: str = ""


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", help="repository name")
    parser.add_argument("--base", default="main", help="branch the experiments start from and the winner joins")
    parser.add_argument("--prefix", default="exp", help="experiment branches are named <prefix>-<run>-1, ... "
                        "(default: exp)")
    parser.add_argument("--run", help="the <run> part of the branch names (default: the time and a random suffix)")
    parser.add_argument("--learning-rates", nargs="+", type=float, default=[0.001, 0.005, 0.02], metavar="RATE",
                        help="one experiment per learning rate (default: 0.001 0.005 0.02)")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs per experiment (default: 20)")
    add_connection_options(parser)
    return parser.parse_args(argv)


def train(learning_rate: float, epochs: int) -> Dict[str, float]:
    """Fit y = w * x to POINTS by gradient descent; return the weight and the mean squared error."""
    weight = 0.0
    for _ in range(epochs):
        gradient = sum(2 * (weight * x - y) * x for x, y in POINTS) / len(POINTS)
        weight -= learning_rate * gradient
    loss = sum((weight * x - y) ** 2 for x, y in POINTS) / len(POINTS)
    return {"weight": weight, "loss": loss}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the experiments; return the exit status."""
    args = parse_args(argv)
    return run_with_client(args, lambda client: run(client, args))


def run(client: LakeFSClient, args: argparse.Namespace) -> int:
    """Run every experiment on its branch, merge the best one, delete the others."""
    run_name = args.run or run_id()
    experiments = [
        Experiment(branch=f"{args.prefix}-{run_name}-{n}", learning_rate=rate)
        for n, rate in enumerate(args.learning_rates, start=1)
    ]
    created: List[str] = []
    try:
        return train_and_merge(client, args, experiments, created)
    except lakefs_sdk.ApiException:
        for branch in created:
            try:
                client.branches_api.delete_branch(args.repo, branch)
                print(f"deleted {branch} (cleaning up after the failure)", file=sys.stderr)
            except lakefs_sdk.ApiException as error:
                print(f"could not delete {branch}: {error.status} {error.message}", file=sys.stderr)
        raise


def train_and_merge(
    client: LakeFSClient, args: argparse.Namespace, experiments: List[Experiment], created: List[str]
) -> int:
    """Run the experiments (recording each branch in ``created``), merge the winner, delete the rest."""
    for experiment in experiments:
        client.branches_api.create_branch(args.repo, BranchCreation(name=experiment.branch, source=args.base))
        created.append(experiment.branch)
        run_experiment(client, args, experiment)

    winner = min(experiments, key=lambda e: e.loss)
    print(f"winner: {winner.branch} (learning rate {winner.learning_rate}, loss {winner.loss:.6g})")
    merge = Merge(
        message=f"Adopt the model of {winner.branch}",
        metadata={"experiment": winner.branch, "loss": repr(winner.loss), "commit": winner.commit_id},
    )
    result = client.refs_api.merge_into_branch(args.repo, winner.branch, args.base, merge=merge)
    print(f"merged {winner.branch} into {args.base}: commit {result.reference}")

    created.clear()  # the winner is merged: from here on, a failure leaves the branches be
    for loser in experiments:
        if loser is not winner:
            client.branches_api.delete_branch(args.repo, loser.branch)
            print(f"deleted {loser.branch}")
    return 0


def run_experiment(client: LakeFSClient, args: argparse.Namespace, experiment: Experiment) -> None:
    """Train on the experiment's branch, upload its artifacts and commit them."""
    repo = args.repo
    params = {"experiment": experiment.branch, "learning_rate": experiment.learning_rate, "epochs": args.epochs}
    result = train(experiment.learning_rate, args.epochs)
    experiment.weight, experiment.loss = result["weight"], result["loss"]
    artifacts = {
        "model/params.json": params,
        "model/weights.json": {"weight": experiment.weight},
        "model/metrics.json": {"loss": experiment.loss},
    }
    for path, document in artifacts.items():
        body = json.dumps(document, indent=2).encode()
        upload(client.objects_api, repo, experiment.branch, path, body)
    creation = CommitCreation(
        message=f"Train with learning rate {experiment.learning_rate}",
        metadata={"learning_rate": repr(experiment.learning_rate), "epochs": str(args.epochs),
                  "loss": repr(experiment.loss)},
    )
    experiment.commit_id = client.commits_api.commit(repo, experiment.branch, creation).id
    print(f"{experiment.branch}: learning rate {experiment.learning_rate}, loss {experiment.loss:.6g}, "
          f"commit {experiment.commit_id}")


if __name__ == "__main__":
    sys.exit(main())
