"""Recommendation latency in memory: session-kNN for a big synthetic shop, sampled vs exhaustive.

A shop of `--products` products (Zipf-popular, browsing in neighbourhoods of related products)
and `--sessions` past sessions. For random current sessions we time one "also viewed" answer
(`ShopRecommender.viewed.recommend`, top 20): our configuration (the 500 most recent candidate
sessions) against the exhaustive baseline (every session sharing an item). Engine only: the HTTP
routes and their Redis cache are not part of this run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from recommend.engine import ShopRecommender
from recommend.sknn import SessionKNNConfig


def _session(rng: random.Random, products: int) -> list[int]:
    anchor = min(int(rng.paretovariate(0.6)), products) - 1
    return [(anchor + rng.randint(-30, 30)) % products for _ in range(rng.randint(2, 8))]


def _timings(model: ShopRecommender, queries: list[list[int]]) -> list[float]:
    for query in queries[:50]:  # warm up
        model.viewed.recommend(query, 20)
    timings = []
    for query in queries:
        started = time.perf_counter()
        model.viewed.recommend(query, 20)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _row(name: str, timings: list[float]) -> str:
    ordered = sorted(timings)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    return f"| {name} | {statistics.median(ordered):.2f} | {p99:.2f} | {len(ordered)} |"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench recs")
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args(argv)
    rng = random.Random(7)
    history = [_session(rng, args.products) for _ in range(args.sessions)]
    queries = [_session(rng, args.products)[: rng.randint(1, 4)] for _ in range(args.requests)]
    print(f"{args.products:,} products, {args.sessions:,} sessions, {args.requests:,} requests\n")
    print("| also viewed, top 20 | p50 ms | p99 ms | requests |\n|---|---|---|---|")
    for name, config in (
        ("ours: 500 most recent candidate sessions", SessionKNNConfig()),
        ("baseline: exhaustive candidates", SessionKNNConfig(sample_size=10**9)),
    ):
        model = ShopRecommender(knn_config=config)
        for number, items in enumerate(history):
            model.add_session(number, viewed=items, at=float(number))
        print(_row(name, _timings(model, queries)))
