"""How hard the demo dataset is: leave-one-animal-out scores of per-frame random forests.

The simulator must not be easy: a per-frame forest on engineered features should stay well under
0.85 macro-F1, and a pose-only model should collapse on frames without video.

    python benchmarks/simulator_difficulty.py [--features artifacts/features] [--out benchmarks/results/...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ratbehavior.config import load_config
from ratbehavior.data.dataset import build_features, load_feature_set
from ratbehavior.evaluation.baselines import random_forest_loao

VARIANTS = {"pose + IMU": (True, True), "pose only": (True, False), "IMU only": (False, True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="dataset root, featurised if needed")
    parser.add_argument("--features", type=Path, default=Path("artifacts/features"))
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/simulator_difficulty.json"))
    args = parser.parse_args()
    cfg = load_config(args.config)
    if not (args.features / "manifest.json").is_file():
        build_features(args.data, cfg.data, args.features)
    sessions = load_feature_set(args.features)
    results = {}
    for name, (use_pose, use_imu) in VARIANTS.items():
        start = time.perf_counter()
        scores = random_forest_loao(sessions, use_pose=use_pose, use_imu=use_imu, seed=cfg.seed)
        scores["seconds"] = round(time.perf_counter() - start, 1)
        results[name] = scores
    table = Table(title="Per-frame random forest, leave-one-animal-out (demo dataset)")
    for column in ("features", "macro-F1", "worst animal", "F1 with video", "F1 without video", "s"):
        table.add_column(column)
    for name, s in results.items():
        table.add_row(
            name, f"{s['macro_f1']:.3f}", f"{s['worst_animal']} {s['worst_animal_f1']:.3f}",
            f"{s['with_video']['macro_f1']:.3f}", f"{s['without_video']['macro_f1']:.3f}", str(s["seconds"]),
        )  # fmt: skip
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"sessions": len(sessions), "labelled_frames": int(sum(s.label_mask.sum() for s in sessions))}
    args.out.write_text(json.dumps({"dataset": summary, "random_forest": results}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
