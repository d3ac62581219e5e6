"""Next-hour electricity demand forecast with PyTorch, on the GPU when there is one.

A small multilayer perceptron learns Gwangju's system demand for the next hour from the last
24 hours (KPX's open hourly series).  It trains on the first 80 % of the series and reports
the mean absolute percentage error on the rest, with the device it used and how long each
epoch took, so the same job measures a GPU against the CPU.

Needs an environment with PyTorch (the operator's ``pytorch`` environment, say); with
``gpus: 1`` in the job's resources and a GPU on the machine it trains on ``cuda``, otherwise on
the CPU.  Writes ``metrics.json`` and the trained weights ``model.pt`` (a model file: the
release review flags it).

Arguments: ``[epochs] [hidden]`` (default 30 and 64).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

try:
    import torch
    from torch import nn
except ImportError:
    print(
        "This job needs PyTorch: submit it with an environment that has it "
        "(GET /api/v1/environments lists them).",
        file=sys.stderr,
    )
    sys.exit(2)

DATASET = "kpx-system-demand-smp-hourly"
WINDOW = 24


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    hidden = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    torch.manual_seed(20260101)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"
    print(f"device: {device} ({name}), torch {torch.__version__}", flush=True)

    table = pq.read_table(Path(os.environ["BITGOEUL_INPUT_DIR"]) / f"{DATASET}.parquet")
    demand = torch.tensor(table.column("system_demand_mw").to_pylist(), dtype=torch.float32)
    scale = demand.max()
    series = demand / scale
    windows = series.unfold(0, WINDOW + 1, 1)
    x, y = windows[:, :WINDOW], windows[:, WINDOW:]
    split = int(len(x) * 0.8)
    x_train, y_train = x[:split].to(device), y[:split].to(device)
    x_test, y_test = x[split:].to(device), y[split:].to(device)

    model = nn.Sequential(
        nn.Linear(WINDOW, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 1),
    ).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    epoch_seconds = []
    for epoch in range(epochs):
        started = time.perf_counter()
        model.train()
        for batch in torch.split(torch.randperm(len(x_train), device=device), 256):
            optimiser.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimiser.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        epoch_seconds.append(time.perf_counter() - started)
        if epoch % 10 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch}: train loss {loss.item():.5f}", flush=True)

    model.eval()
    with torch.no_grad():
        predicted = model(x_test) * scale
        actual = y_test * scale
        mape = float((predicted - actual).abs().div(actual).mean() * 100)
    print(f"test MAPE: {mape:.2f} %", flush=True)
    out = Path(os.environ["BITGOEUL_OUTPUT_DIR"])
    (out / "metrics.json").write_text(
        json.dumps(
            {
                "device": str(device),
                "device_name": name,
                "torch": torch.__version__,
                "epochs": epochs,
                "hidden": hidden,
                "train_windows": split,
                "test_windows": len(x) - split,
                "test_mape_percent": round(mape, 3),
                "median_epoch_seconds": sorted(epoch_seconds)[len(epoch_seconds) // 2],
            },
            indent=2,
        )
        + "\n"
    )
    torch.save(model.state_dict(), out / "model.pt")


if __name__ == "__main__":
    main()
