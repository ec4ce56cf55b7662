"""The HTML report: self-contained, every plot there, and — checked the way a planner sees it — every
plot drawn by a real headless browser (Debian's chromium) with the network cut off."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from click.testing import CliRunner

import optimiser
from optimiser.cli.main import EXIT_INVALID, EXIT_OK, main

from .conftest import ROOT

TINY = ROOT / "instances" / "tiny" / "two_services.yaml"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The tiny instance as written, and with a 2-point shift into prevention: two runs with every
    kind of plot (spend, shares against a trajectory, outcomes against a target, a pathway)."""
    d = tmp_path_factory.mktemp("report")
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data["scenarios"] = {"shift_2pp": {"overrides": {"shift_policies": [
        {"kind": "share", "name": "upstream", "sectors": ["prevention"], "increase_pp": 2}]}}}
    path = d / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    cmp = optimiser.compare(path, scenarios=["shift_2pp"], workers=1)
    assert cmp.runs["status"].tolist() == ["optimal", "optimal"]
    report = optimiser.write_report(cmp, d / "report.html")
    return cmp, report


EXPECTED_PLOTS = ["cmp-costs", "cmp-sector-spend", "cmp-shift", "cmp-outcomes",
                  "tiny-spend", "tiny-shares", "tiny-outcomes", "tiny-flows-crisis",
                  "tiny-shift-2pp-spend", "tiny-shift-2pp-shares", "tiny-shift-2pp-outcomes",
                  "tiny-shift-2pp-flows-crisis"]


def plot_ids(text: str) -> list[str]:
    return re.findall(r'<div id="plot-([^"]+)" class="plotly-graph-div', text)


def test_report_is_self_contained_with_every_plot(two_runs):
    cmp, report = two_runs
    text = report.read_text(encoding="utf-8")
    assert plot_ids(text) == EXPECTED_PLOTS
    # nothing is fetched: no external scripts, stylesheets, images or fonts
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=\"(https?:)?//", text)
    assert "<link" not in text
    assert text.count("<script") == 1 + len(EXPECTED_PLOTS)  # plotly.js once, then one per plot
    assert "plotly.js" in text[:2000]
    # the tables of the comparison are there too
    assert "Input differences" in text and "shift_policies" in text
    size_kb = report.stat().st_size / 1024
    assert 3000 < size_kb < 8000  # plotly.js (~4.7 MB) plus the figures


@pytest.mark.slow
def test_report_from_folders_and_the_cli(tmp_path, two_runs):
    cmp, _ = two_runs
    runner = CliRunner()
    plan = tmp_path / "plan"
    assert runner.invoke(main, ["solve", str(TINY), "--out", str(plan)]).exit_code == EXIT_OK
    r = runner.invoke(main, ["report", str(plan), "--html", str(tmp_path / "one.html")])
    assert r.exit_code == EXIT_OK, r.output
    assert plot_ids((tmp_path / "one.html").read_text()) == ["plan-spend", "plan-shares", "plan-outcomes",
                                                              "plan-flows-crisis"]
    folder = cmp.write(tmp_path / "cmp")
    r = runner.invoke(main, ["report", str(folder), "--html", str(tmp_path / "cmp.html")])
    assert r.exit_code == EXIT_OK, r.output
    assert plot_ids((tmp_path / "cmp.html").read_text()) == EXPECTED_PLOTS
    # an infeasible plan: the report says so, and has no plots
    inf = optimiser.solve(optimiser.load(TINY, overrides={"targets[0].at_most": 10}))
    text = optimiser.write_report(inf, tmp_path / "inf.html").read_text()
    assert plot_ids(text) == [] and "No plan to plot: infeasible" in text
    r = runner.invoke(main, ["report", str(ROOT / "README.md"), "--html", str(tmp_path / "x.html")])
    assert r.exit_code == EXIT_INVALID and "expected a result folder" in r.output
    assert not (tmp_path / "x.html").exists()


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _marks(segment: str) -> int:
    """Drawn marks (bars, line segments, markers, Sankey nodes and links) with a non-empty shape."""
    shapes = re.findall(r'<g class="point"><path d="([^"]*)"', segment)                  # bars
    shapes += re.findall(r'<path class="(?:js-line|point|sankey-link)" d="([^"]*)"', segment)
    count = 0
    for d in shapes:
        nums = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
        if "NaN" in d or len(nums) < 2:
            continue
        xs, ys = nums[0::2], nums[1::2]
        if max(xs) - min(xs) > 0.5 or max(ys) - min(ys) > 0.5:
            count += 1
    heights = re.findall(r'<rect class="node-rect"[^>]*height="([\d.]+)"', segment)
    count += sum(1 for h in heights if float(h) > 0.5)
    return count


@pytest.mark.slow  # a headless browser start; the quick suite checks the HTML without it
def test_report_renders_in_a_headless_browser(two_runs, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no headless browser installed (apt-get install chromium; .ci/run installs it): "
                    "the report's plots were not checked in a browser")
    _, report = two_runs
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}",
         "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: the report must not need it
         "--virtual-time-budget=5000", "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=120)
    dom = proc.stdout
    assert proc.returncode == 0 and "</html>" in dom, proc.stderr[-2000:]
    for pid in EXPECTED_PLOTS:
        start = dom.index(f'id="plot-{pid}"')
        segment = dom[start:dom.index("</figure>", start)]
        assert "js-plotly-plot" in dom[dom.rfind("<div", 0, start + 1):start + 400], f"{pid} was not drawn"
        assert segment.count('class="main-svg"') >= 2, f"{pid}: no plot area"
        assert _marks(segment) >= 2, f"{pid}: the plot is empty"
    # the Sankey diagrams show one node per pathway node, labelled with patient numbers
    start = dom.index('id="plot-tiny-flows-crisis"')
    segment = dom[start:dom.index("</figure>", start)]
    assert len(re.findall(r'<rect class="node-rect"', segment)) == 4
    # (in planner words, the number on a second line: "Need:" then "1,000")
    assert re.search(r"Need:(?:<[^>]+>)*[\d,]+", segment) and re.search(r"Admission:(?:<[^>]+>)*[\d,]+", segment)
    labels = re.findall(r'<text class="node-label"[^>]*>(.*?)</text>', segment)
    assert labels and not any(re.search(r"[a-z]_[a-z]", re.sub(r"<[^>]+>", "", t)) for t in labels)
