"""Command line: ``python -m model_build [generate|train|export|check|samples]``.

With no command it runs generate -> train -> export with defaults.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import ModelBuildError
from .sizes import DEFAULT_SIZE, SIZES

BUILD = Path("build")
console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def cmd_generate(args: argparse.Namespace) -> None:
    """Write the generated dataset."""
    from .data import LABELS, generate, write_dataset

    with _progress() as progress:
        task = progress.add_task(
            f"generate {args.per_class} clips x {len(LABELS)} classes", total=None
        )
        write_dataset(generate(args.per_class, args.seed), args.out)
        progress.update(task, total=1, completed=1)
    console.print(f"wrote {args.per_class * len(LABELS)} clips to {args.out}/<label>/")


def cmd_train(args: argparse.Namespace) -> None:
    """Train on a folder and save a checkpoint."""
    from .train import load_folder, save_checkpoint, train

    with _progress() as progress:
        task = progress.add_task(f"read {args.data}", total=None)
        labels, examples = load_folder(args.data)
        progress.update(
            task, total=1, completed=1, description=f"read {len(examples)} clips, labels {labels}"
        )
        model, metrics = train(
            labels, examples, epochs=args.epochs, seed=args.seed, size=args.size, progress=progress
        )
    save_checkpoint(args.checkpoint, model, labels, metrics)
    console.print(
        f"held-out accuracy {metrics['heldout_accuracy']:.1%} on {metrics['heldout_examples']} clips; "
        f"checkpoint {args.checkpoint}"
    )


def cmd_export(args: argparse.Namespace) -> None:
    """Export a checkpoint through the gate and print its figures."""
    from .export import export_checkpoint_to
    from .train import load_checkpoint

    model, labels, metrics = load_checkpoint(args.checkpoint)
    with _progress() as progress:
        task = progress.add_task("export to ONNX, check, compare with torch", total=None)
        meta = export_checkpoint_to(model, labels, metrics, args.out)
        progress.update(task, total=1, completed=1)
    table = Table(title=f"{args.out}/model.onnx")
    table.add_column("figure")
    table.add_column("value", justify="right")
    acc = meta["heldout_accuracy"]
    table.add_row("labels", ", ".join(meta["labels"]))
    table.add_row("held-out accuracy", "n/a" if acc is None else f"{acc:.1%}")
    table.add_row(
        f"parity max |onnx - torch| ({meta['parity']['waveforms']} clips)",
        f"{meta['parity']['max_abs_diff']:.2e} (limit {meta['parity']['tolerance']:.0e})",
    )
    table.add_row("size", f"{meta['size']} ({meta['training'].get('parameters', '?')} parameters)")
    table.add_row("opset", str(meta["opset"]))
    table.add_row("file", f"{meta['size_bytes'] / 1024:.0f} KiB")
    table.add_row("sha256", meta["sha256"][:16] + "...")
    Console().print(table)


def cmd_samples(args: argparse.Namespace) -> None:
    """Write labelled demo WAVs."""
    from .samples import write_samples

    rows = write_samples(args.out, args.count, args.seed)
    console.print(f"wrote {len(rows)} labelled WAVs and manifest.csv to {args.out}")


def cmd_check(args: argparse.Namespace) -> None:
    """Check your own ONNX model against the kit's contract and write its model.json."""
    from .check import check_model

    labels = [label.strip() for label in args.labels.split(",") if label.strip()]
    meta = check_model(args.model, labels, args.sample_rate, args.out, force=args.force)
    where = (args.out or args.model.parent) / "model.json"
    tried = ", ".join(f"{s:g}" for s in meta["checked"]["run_on_seconds"])
    text = (
        f"{args.model} fits: input {meta['input_name']} [batch, samples] at {meta['sample_rate']} "
        f"Hz, output {meta['output_name']} over {len(labels)} labels (ran on {tried} s clips and a "
        f"batch of 2); wrote {where}. Use it with "
        f"`pulumi config set modelPath {where.parent / 'model.onnx'}`."
    )
    console.print(escape(text), soft_wrap=True)  # names are the model's: never rich markup


def cmd_wrap(args: argparse.Namespace) -> None:
    """Wrap a model into the kit's contract, check it and write model.onnx + model.json."""
    from .wrap import wrap

    labels = [label.strip() for label in args.labels.split(",") if label.strip()]
    meta, lines = wrap(
        args.model,
        labels,
        args.out,
        args.sample_rate,
        window=args.window,
        hop=args.hop,
        output=args.output,
        pool=args.pool,
        context=args.context,
    )
    for line in lines:
        console.print(f"  {escape(line)}", soft_wrap=True)
    tried = ", ".join(f"{s:g}" for s in meta["checked"]["run_on_seconds"])
    console.print(
        escape(
            f"wrapped {args.model} into {args.out / 'model.onnx'}: labels {', '.join(meta['labels'])}; "
            f"checked on {tried} s clips and a batch of 2. Run it with `python -m kit local "
            f"--model-dir {args.out} --samples DIR` (DIR/<label>/*.wav or a manifest.csv)."
        ),
        soft_wrap=True,
    )


def cmd_all(args: argparse.Namespace) -> None:
    """Generate, train and export with defaults."""
    started = time.perf_counter()
    data = BUILD / "data"
    cmd_generate(argparse.Namespace(out=data, per_class=args.per_class, seed=args.seed))
    out = args.out or BUILD
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "checkpoint.pt"
    cmd_train(
        argparse.Namespace(
            data=data, epochs=args.epochs, seed=args.seed, checkpoint=checkpoint, size=args.size
        )
    )
    cmd_export(argparse.Namespace(checkpoint=checkpoint, out=out))
    console.print(f"model build finished in {time.perf_counter() - started:.0f} s")


def parser() -> argparse.ArgumentParser:
    """The argument parser (also used by --help)."""
    p = argparse.ArgumentParser(
        prog="python -m model_build",
        description="Build the reference ONNX audio classifier. With no command: "
        "generate -> train -> export into build/.",
    )
    p.add_argument(
        "--per-class", type=int, default=200, help="generated clips per class (default 200)"
    )
    p.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where checkpoint.pt, model.onnx and model.json go (default build; the data "
        "stays in build/data)",
    )
    p.add_argument(
        "--size",
        choices=list(SIZES),
        default=DEFAULT_SIZE,
        help=f"model size: {', '.join(f'{k} {v}' for k, v in SIZES.items())} channels "
        f"(default {DEFAULT_SIZE}, fast enough for make demo)",
    )
    p.set_defaults(func=cmd_all)
    sub = p.add_subparsers(title="commands")

    g = sub.add_parser("generate", help="write the generated dataset as DIR/<label>/*.wav")
    g.add_argument(
        "--out", type=Path, default=BUILD / "data", help="output folder (default build/data)"
    )
    g.add_argument("--per-class", type=int, default=200, help="clips per class (default 200)")
    g.add_argument("--seed", type=int, default=0)
    g.set_defaults(func=cmd_generate)

    t = sub.add_parser("train", help="train on DATA/<label>/*.wav and write a checkpoint")
    t.add_argument(
        "--data", type=Path, default=BUILD / "data", help="data folder (default build/data)"
    )
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--size", choices=list(SIZES), default=DEFAULT_SIZE, help="model size")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--checkpoint",
        type=Path,
        default=BUILD / "checkpoint.pt",
        help="where to write the checkpoint (default build/checkpoint.pt)",
    )
    t.set_defaults(func=cmd_train)

    e = sub.add_parser(
        "export", help="export a checkpoint to OUT/model.onnx + OUT/model.json (gated)"
    )
    e.add_argument("--checkpoint", type=Path, required=True, help="checkpoint written by train")
    e.add_argument("--out", type=Path, default=BUILD, help="output folder (default build)")
    e.set_defaults(func=cmd_export)

    c = sub.add_parser(
        "check",
        help="check your own ONNX model against the kit's contract and write its model.json",
    )
    c.add_argument("model", type=Path, help="the .onnx file")
    c.add_argument("--labels", required=True, help="class labels in output order, comma-separated")
    c.add_argument(
        "--sample-rate",
        type=int,
        default=16_000,
        help="the waveform rate the model expects (default 16000)",
    )
    c.add_argument(
        "--out", type=Path, default=None, help="copy model.onnx here and write model.json beside it"
    )
    c.add_argument(
        "--force",
        action="store_true",
        help="replace a model.json that records a kit build's parity and accuracy figures",
    )
    c.set_defaults(func=cmd_check)

    w = sub.add_parser(
        "wrap",
        help="fit a model shaped otherwise (fixed window, streaming state, one sigmoid, "
        "several outputs) to the contract: OUT/model.onnx + model.json, checked",
        description="Compose an ONNX graph around MODEL that frames the clip, carries a "
        "streaming model's state across frames, pools the scores and turns them into class "
        "probabilities; defaults come from the graph. A spectrogram front end outside the "
        "graph is out of scope (export it into the graph).",
    )
    w.add_argument("model", type=Path, help="the .onnx file")
    w.add_argument(
        "--labels",
        required=True,
        help="class labels in output order, comma-separated; one label for a yes/no model "
        "(its complement, not-LABEL, is added)",
    )
    w.add_argument("--out", type=Path, required=True, help="folder for model.onnx + model.json")
    w.add_argument(
        "--sample-rate", type=int, default=16_000, help="the model's audio rate (default 16000)"
    )
    w.add_argument(
        "--window",
        type=int,
        help="samples per window (default: the graph's fixed length; 32 ms for a streaming model)",
    )
    w.add_argument("--hop", type=int, help="samples between windows (default: the window)")
    w.add_argument(
        "--context",
        type=int,
        default=0,
        help="samples of the previous frame each window starts with (Silero VAD v5: --window "
        "576 --context 64); the hop is then window - context",
    )
    w.add_argument("--output", help="which output to read (default: the first that is not a state)")
    w.add_argument(
        "--pool", choices=["mean", "max"], default="mean", help="how windows' scores combine"
    )
    w.set_defaults(func=cmd_wrap)

    s = sub.add_parser("samples", help="write labelled demo WAVs and manifest.csv")
    s.add_argument(
        "--out", type=Path, default=BUILD / "samples", help="output folder (default build/samples)"
    )
    s.add_argument("--count", type=int, default=40, help="number of files (default 40)")
    s.add_argument("--seed", type=int, default=1000)
    s.set_defaults(func=cmd_samples)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a command; user errors print one line and exit 2."""
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (ModelBuildError, ValueError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
