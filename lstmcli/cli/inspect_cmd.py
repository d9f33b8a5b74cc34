"""`lstmcli inspect`: every gate of every step for the window behind the latest forecast.

(The module is not called ``inspect.py`` so that it never shadows the standard library's ``inspect``.)
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lstmcli.cli.common import (
    OutputFormat,
    first_run_notice,
    plot_path,
    print_notes,
    refuse_to_replace_inputs,
    stderr_console,
    stdout_console,
    user_errors,
    warn,
    write_plot,
)
from lstmcli.cli.predict import (
    FutureFile,
    ModelIn,
    NewData,
    PlotFile,
    load_future_file,
    load_newer_data,
)
from lstmcli.cli.text import styled
from lstmcli.errors import ConfigError, OptionError

if TYPE_CHECKING:
    import numpy as np  # only for annotations: `lstmcli --help` does not import NumPy

ORDER = ("f", "i", "g", "o", "c", "h")  # the explainer's reading order: forget, input, candidate, output
MAX_DEFAULT_UNITS = 12


def _parse_units(spec: str | None, hidden: int) -> list[int]:
    """'0,3,5' picks units; '8' alone picks the first 8; default: up to 12 (the tables')."""
    if spec is None:
        return list(range(min(hidden, MAX_DEFAULT_UNITS)))
    try:
        parts = [int(p) for p in spec.split(",") if p.strip()]
    except ValueError:
        raise OptionError(f"--units must be a count like 8 or a list like 0,3,5, got {spec!r}") from None
    if not parts:  # (',,' named no unit: the export was empty)
        raise OptionError(f"--units must be a count like 8 or a list like 0,3,5, got {spec!r}")
    if len(parts) == 1 and "," not in spec:
        if parts[0] < 1:
            raise OptionError(
                f"--units must be a count of at least 1 (unit 0 alone: --units 0,), got {parts[0]}"
            )
        if parts[0] > hidden:
            raise ConfigError(f"--units {parts[0]}: the layer has {hidden} units; give at most {hidden}")
        return list(range(parts[0]))
    bad = [u for u in parts if not 0 <= u < hidden]
    if bad:
        raise ConfigError(f"--units {bad} out of range: the layer has units 0..{hidden - 1}")
    return list(dict.fromkeys(parts))  # (a unit named twice is shown once)


def inspect_cmd(
    model: ModelIn = Path("model.npz"),
    data: NewData = None,
    layer: Annotated[
        int | None, typer.Option(min=1, help="Show only this layer (1 = the first); default: all.")
    ] = None,
    steps: Annotated[
        int | None, typer.Option(min=1, help="Show only the last N time steps of the window.")
    ] = None,
    units: Annotated[
        str | None,
        typer.Option(
            help="Units to show: a count (8 = the first 8) or a list (0,3,5; one unit: 5,). Default: the "
            "first 12, or as many as fit the terminal's width, in the tables; every unit in json, csv and "
            "--plot."
        ),
    ] = None,
    member: Annotated[
        int,
        typer.Option(
            min=1,
            help="Which network of the ensemble to show (1 = the first, as --layer counts); the networks' "
            "forecast is the median of them all.",
        ),
    ] = 1,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="table (coloured, with a summary), csv (long format) or json."),
    ] = OutputFormat.table,
    plot: PlotFile = None,
    series_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="For a model of many series (train --id-col): the series whose window to show (one at a "
            "time; a model of one series needs none).",
        ),
    ] = None,
    future: FutureFile = None,
) -> None:
    """Show the gate values at every step: what the network remembers and forgets."""
    with user_errors():
        refuse_to_replace_inputs(plot, "--plot", {"--model": model, "--data": data})
    plot_path(plot)
    with user_errors():
        from lstmcli.cli.panels import series_model
        from lstmcli.forecasting.explain import unit_summary
        from lstmcli.forecasting.verdicts import first_epoch_members

        with first_run_notice("forecast"):  # a panel's series runs the compiled loop (one series: NumPy)
            forecaster, weights_root = series_model(model, series_id)
        members = len(forecaster.networks_)
        if member > members:
            raise ConfigError(
                f"--member {member} out of range: the model has {members} member(s), 1..{members}"
            )
        # this member's LSTM in the model file (PyTorch's names behind it: modelfile, panelfile)
        weights = weights_root + ("lstm" if member == 1 else f"ensemble.{member - 1}.lstm")
        notes: tuple[str, ...] = ()
        if data is not None and series_id is not None:  # a panel's model: --data is a panel file too
            from lstmcli.cli.panels import newer_series

            newer, notes = newer_series(model, forecaster, data, series_id)
        elif data is not None:
            newer = load_newer_data(forecaster, data)
            notes = newer.notes
        else:
            newer = None
        ahead = load_future_file(forecaster, future, check_only=series_id is not None)
        if future is not None and series_id is not None:  # a panel's file: the id column, each series' rows
            from lstmcli.cli.panels import panel_id_col
            from lstmcli.data.future import load_panel_future

            ahead = load_panel_future(future, panel_id_col(model), forecaster.state_.known.columns).of(
                series_id
            )
        trace = forecaster.trace(newer, member=member - 1, future=ahead)
        print_notes(stderr_console(), notes)  # what reading --data decided, once the trace is made
        epochs = forecaster.member_epochs_
        if len(epochs) == members and first_epoch_members(epochs, forecaster.config.epochs).count(
            member - 1
        ):  # (planned members all kept: numbers agree)
            warn(
                f"member {member} stopped at its first epoch (no later epoch did better on validation): its "
                "gates are those of a barely trained network"
                + ("; --member K shows another" if members > 1 else "")
            )
        n_layers = len(trace.layers)
        if layer is not None and layer > n_layers:
            raise ConfigError(f"--layer {layer} out of range: the model has {n_layers} layer(s)")
        chosen = [layer - 1] if layer is not None else list(range(n_layers))
        hidden = trace.layers[0]["h"].shape[1]
        # an export (json, csv) holds every unit unless --units narrows it; the tables at most 12
        unit_list = (
            _parse_units(units, hidden)
            if units is not None or output_format is OutputFormat.table
            else list(range(hidden))
        )
        T = trace.inputs.shape[0]
        first = T - min(steps or T, T)
        from lstmcli.data.stepdates import dates_text

        # without dates, the steps' numbers as predict counts them (its first forecast is step n + 1)
        n = len(newer.values) if newer is not None else forecaster.n_obs_
        labels = (
            dates_text(trace.timestamps)
            if trace.timestamps is not None
            else [str(n - T + 1 + k) for k in range(T)]
        )
        console = stdout_console()
        if units is None and output_format is OutputFormat.table:
            values = [trace.layers[k][name][first:, unit_list] for k in chosen for name in ORDER]
            unit_list = unit_list[: _units_that_fit(console.width, labels[first:], values)]
        summaries = {k: unit_summary(trace.layers[k], forecaster.season_) for k in chosen}
        which = _member_text(forecaster, member)
        if plot is not None:
            from lstmcli.cli.plots import gates_figure

            # a picture has room for every unit: --units narrows it, the terminal's width does not
            drawn = _parse_units(units, hidden) if units is not None else list(range(hidden))
            fig = gates_figure(
                layers={k: {name: trace.layers[k][name][first:, drawn] for name in ORDER} for k in chosen},
                n_layers=n_layers,
                summaries=summaries,
                units=drawn,
                labels=labels[first:],
                season=forecaster.season_,
                title=f"{forecaster.target_}{'' if series_id is None else f' of series {series_id}'}: "
                f"the gates of {which}\n"
                f"the last {T - first} steps of the window behind the latest forecast ({Path(model).name})",
            )
            write_plot(fig, plot)

    if output_format is OutputFormat.json:
        # --steps, --units and --layer cut the json as they cut the tables
        payload: dict[str, Any] = {
            "model": str(model),
            **({"id": str(series_id)} if series_id is not None else {}),
            "weights": weights,  # the file's entries of this member's LSTM: WEIGHTS.weight_ih_l0, ...
            "member": member,
            "members": members,
            "gate_order": ["i", "f", "g", "o"],
            "steps": labels[first:],
            "units": unit_list,
            "hidden": hidden,  # units per layer: "units" lists those exported (every one unless --units)
            "inputs": trace.inputs[first:].tolist(),
            "input_names": trace.input_names,
            "layers": [
                {
                    name: trace.layers[k][name][first:, unit_list].tolist()
                    for name in ("i", "f", "g", "o", "c", "h")
                }
                | {"layer": k + 1}
                for k in chosen
            ],
            "output": trace.output.tolist(),
            "summary": {str(k + 1): [summaries[k][u] for u in unit_list] for k in chosen},
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    if output_format is OutputFormat.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["layer", "step", "label", "gate", "unit", "value"])
        for k in chosen:
            for name in ORDER:
                values = trace.layers[k][name]
                for t in range(first, T):
                    for u in unit_list:
                        writer.writerow([k + 1, t, labels[t], name, u, repr(float(values[t, u]))])
        if len(trace.input_names) > 1:  # covariates: the window's inputs too, as layer 0
            for t in range(first, T):
                for c, name in enumerate(trace.input_names):
                    writer.writerow([0, t, labels[t], f"input {name}", c, repr(float(trace.inputs[t, c]))])
        sys.stdout.write(buf.getvalue())
        return

    from lstmcli.cli.render import explain_gates, gate_table, inputs_tables, unit_summary_table

    raw_output = trace.output.astype(float).round(4).tolist()  # float64 first: float32 prints 17 digits
    console.print(
        styled(
            (forecaster.target_ + (f" of series {series_id}" if series_id is not None else ""), "bold"),
            f": the {T}-step window behind the latest forecast "
            f"(model {model}, format {forecaster.format_version_}); raw output {raw_output}",
        )
    )
    from rich.text import Text

    console.print(
        Text(
            f"Showing {which}; the networks' forecast is "
            + (f"the median of all {members}" if members > 1 else "this network's")
            + _combined_with(forecaster.state_.config.combine)
            + "."
            + (" --member K shows another." if members > 1 else "")
        )
    )
    if len(unit_list) < hidden and units is None:
        why = (
            f"as many as fit {console.width} columns"
            if len(unit_list) < min(hidden, MAX_DEFAULT_UNITS)
            else f"at most {MAX_DEFAULT_UNITS} by default"
        )
        console.print(
            f"Units {unit_list[0]}-{unit_list[-1]} of {hidden} shown ({why}); --units picks others: a count "
            "like 8 or a list like 0,3,5."
        )
    from lstmcli.forecasting.explain import input_description, season_taken_out

    prep = forecaster.state_.preprocessing
    console.print(explain_gates(forecaster.season_, input_description(prep), season_taken_out(prep)))
    if len(trace.input_names) > 1:  # covariates: what the window's steps carry
        for table in inputs_tables(trace.inputs[first:], trace.input_names, labels[first:], console.width):
            console.print(table)
    for k in chosen:
        console.rule(f"layer {k + 1} of {n_layers} (weights {weights}.*_l{k})")
        for name in ORDER:
            console.print(gate_table(name, trace.layers[k][name][first:], labels[first:], unit_list))
        console.print(unit_summary_table([summaries[k][u] for u in unit_list], forecaster.season_))
    if plot is not None:  # (as predict and backtest end)
        console.print(Text(f"picture written to {plot}", style="dim"))


def _member_text(forecaster: Any, member: int) -> str:
    """'member 1 of 5 (lookback 24, stopped early at epoch 1)': which network the trace comes from."""
    k = member - 1
    text = f"member {member} of {len(forecaster.networks_)} (lookback {forecaster.lookbacks_[k]}"
    epochs = forecaster.member_epochs_
    if len(epochs) == len(forecaster.networks_) and epochs[k] > 0:
        text += f", {epochs[k]} epoch{'s' if epochs[k] != 1 else ''} chosen by early stopping"
    return text + ")"


def _units_that_fit(width: int, labels: list[str], tables: list[np.ndarray]) -> int:
    """How many unit columns of the gate tables (each (steps, units)) fit ``width`` terminal columns
    (at least 1): a table wider than the terminal would squeeze every value to '0.…'. Each column takes
    its widest value (2 decimals) plus a space either side and a rule; the step column its widest label."""
    if not tables or tables[0].shape[1] == 0:
        return MAX_DEFAULT_UNITS
    label_width = max([len("step"), *map(len, labels)]) + 3
    widths = [
        max(len(f"{v:.2f}") for table in tables for v in table[:, u]) + 3 for u in range(tables[0].shape[1])
    ]
    used, fit = label_width + 1, 0
    for w in widths:
        if used + w > width:
            break
        used, fit = used + w, fit + 1
    return max(1, fit)


def _combined_with(combine: str) -> str:
    """How the model's forecast comes from the networks' (``--combine``), as a clause."""
    from lstmcli.forecasting.config import COMBINED_BASELINES

    names = COMBINED_BASELINES.get(combine, ())
    if not names:
        return ""
    others = ", ".join(f"{n}'s" for n in names[:-1]) + (" and " if len(names) > 1 else "") + f"{names[-1]}'s"
    return f", and the model's forecast the mean of it and {others}"
