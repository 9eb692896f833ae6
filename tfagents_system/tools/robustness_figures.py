"""Figures of robustness maps, drawn from the reports robustness.py writes as JSON.

One parameter: the mean return against its values with a +-std band; two: a heatmap of the
mean return with the values written in the cells. The range each parameter was trained on up to
the checkpoint is marked: a shaded span, a bar per checkpoint, or a dashed rectangle.
"""
import math
from typing import Any, Dict, List, Optional, Sequence

from matplotlib import colors
from matplotlib import patches
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np

Report = Dict[str, Any]
MAX_CELLS_WITH_TEXT = 400  # beyond that the numbers would not fit their cells
MAX_TICKS = 12
MAX_COLUMNS = 4
TRAINED_COLOR = 'red'


def _title(report: Report) -> str:
  return (f"{report['checkpoint']}\ntrain step {report['train_step']:,}, "
          f"iteration {report['iteration']}")


def _values(report: Report, axis: int) -> np.ndarray:
  return np.array(report['parameters'][axis]['values'])


def _stat(report: Report, key: str) -> np.ndarray:
  return np.array([cell[key] for cell in report['cells']])


def _new_figure(width: float, height: float) -> Figure:
  figure = Figure(figsize=(width, height), layout='constrained')
  FigureCanvasAgg(figure)  # draws into memory: no display needed
  return figure


def _draw_line(ax, report: Report, color: str, label: str, range_row: Optional[int]) -> None:
  """Mean return with a +-std band; the trained range shaded (range_row None) or, for several
  checkpoints on one axes, as a bar in row `range_row` along the bottom."""
  x, mean, std = _values(report, 0), _stat(report, 'mean_return'), _stat(report, 'std_return')
  ax.plot(x, mean, marker='o', color=color, label=label)
  ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
  trained = report['parameters'][0]['trained_range']
  if trained is None:
    return
  low, high = trained
  if range_row is None:
    if low < high:
      ax.axvspan(low, high, color=TRAINED_COLOR, alpha=0.1, label='trained on')
    else:
      ax.axvline(low, color=TRAINED_COLOR, linestyle='--', label='trained on')
  else:
    y = 0.03 + 0.04 * range_row  # in axes fractions: one row per checkpoint
    ax.plot([low, high], [y, y], transform=ax.get_xaxis_transform(), color=color, linewidth=5,
            solid_capstyle='butt', marker='|' if low == high else None, markersize=12)


def _line_axes(ax, report: Report) -> None:
  """Labels, and the x range of the grid: a trained range reaching beyond it is cut off."""
  values = _values(report, 0)
  margin = 0.05 * (values[-1] - values[0]) or 0.05 * abs(values[0]) or 0.05
  ax.set_xlim(values[0] - margin, values[-1] + margin)
  ax.set_xlabel(report['parameters'][0]['name'])
  ax.set_ylabel(f"return (mean +- std of {report['num_episodes']} episodes)")
  ax.grid(alpha=0.3)


def _ticks(values: np.ndarray):
  step = math.ceil(len(values) / MAX_TICKS)
  positions = np.arange(0, len(values), step)
  return positions, [f'{values[i]:g}' for i in positions]


def _inside(values: np.ndarray, trained) -> np.ndarray:
  low, high = trained
  return np.flatnonzero((values >= low - 1e-9) & (values <= high + 1e-9))


def _draw_heatmap(ax, report: Report, norm: colors.Normalize):
  """Cells at integer positions, the first parameter up the rows, the second across."""
  rows, columns = _values(report, 0), _values(report, 1)
  means = _stat(report, 'mean_return').reshape(len(rows), len(columns))
  image = ax.imshow(means, origin='lower', aspect='auto', cmap='viridis', norm=norm)
  if means.size <= MAX_CELLS_WITH_TEXT:
    for (i, j), value in np.ndenumerate(means):
      ax.text(j, i, f'{value:.1f}', ha='center', va='center', fontsize=7,
              color='white' if norm(value) < 0.5 else 'black')
  for set_ticks, set_labels, values in ((ax.set_yticks, ax.set_yticklabels, rows),
                                        (ax.set_xticks, ax.set_xticklabels, columns)):
    positions, labels = _ticks(values)
    set_ticks(positions)
    set_labels(labels)
  ax.set_ylabel(report['parameters'][0]['name'])
  ax.set_xlabel(report['parameters'][1]['name'])
  trained = [p['trained_range'] for p in report['parameters']]
  if all(trained):
    inside_rows, inside_columns = _inside(rows, trained[0]), _inside(columns, trained[1])
    if inside_rows.size and inside_columns.size:
      ax.add_patch(patches.Rectangle(
          (inside_columns[0] - 0.5, inside_rows[0] - 0.5), inside_columns[-1] - inside_columns[0] + 1,
          inside_rows[-1] - inside_rows[0] + 1, fill=False, edgecolor=TRAINED_COLOR, linewidth=2,
          linestyle='--', label='trained on'))
  return image


def _trained_text(report: Report) -> str:
  parts = []
  for p in report['parameters']:
    trained = p['trained_range']
    parts.append(f"{p['name']} [{trained[0]:.4g}, {trained[1]:.4g}]" if trained
                 else f"{p['name']} not in the curriculum yet")
  return 'trained on ' + ', '.join(parts)


def checkpoint_figure(report: Report) -> Figure:
  if len(report['parameters']) == 1:
    figure = _new_figure(6.5, 4.5)
    ax = figure.add_subplot()
    _draw_line(ax, report, 'C0', 'mean return', range_row=None)
    _line_axes(ax, report)
    ax.legend(fontsize=8)
    ax.set_title(f'{_title(report)}\n{_trained_text(report)}', fontsize=9)
  else:
    rows, columns = (len(report['parameters'][i]['values']) for i in (0, 1))
    figure = _new_figure(min(14.0, 2.5 + 0.75 * columns), min(12.0, 2.0 + 0.45 * rows))
    ax = figure.add_subplot()
    means = _stat(report, 'mean_return')
    image = _draw_heatmap(ax, report, colors.Normalize(means.min(), means.max()))
    figure.colorbar(image, ax=ax, label=f"mean return of {report['num_episodes']} episodes")
    ax.set_title(f'{_title(report)}\n{_trained_text(report)} (dashed)', fontsize=9)
  return figure


def comparison_figure(reports: Sequence[Report]) -> Figure:
  """The checkpoints side by side: one axes of lines, or a heatmap each on one color scale."""
  if len(reports[0]['parameters']) == 1:
    figure = _new_figure(7.5, 5.0)
    ax = figure.add_subplot()
    for row, report in enumerate(reports):
      _draw_line(ax, report, f'C{row % 10}',
                 f"{report['checkpoint']} (iteration {report['iteration']})", range_row=row)
    _line_axes(ax, reports[0])
    ax.legend(fontsize=8)
    ax.set_title('Robustness by checkpoint; bars along the bottom: the range each was trained on',
                 fontsize=9)
    return figure
  columns = min(MAX_COLUMNS, len(reports))
  rows = math.ceil(len(reports) / columns)
  figure = _new_figure(4.2 * columns + 1.2, 3.8 * rows)
  all_means = np.concatenate([_stat(r, 'mean_return') for r in reports])
  norm = colors.Normalize(all_means.min(), all_means.max())
  axes: List = []
  for index, report in enumerate(reports):
    ax = figure.add_subplot(rows, columns, index + 1)
    image = _draw_heatmap(ax, report, norm)
    ax.set_title(f'{_title(report)}\n{_trained_text(report)}', fontsize=8)
    axes.append(ax)
  figure.colorbar(image, ax=axes, label=f"mean return of {reports[0]['num_episodes']} episodes")
  figure.suptitle('Robustness by checkpoint (dashed: the range each was trained on)', fontsize=10)
  return figure


def save(figure: Figure, path: str) -> None:
  figure.savefig(path, dpi=100)
