"""The HTML page (scripts/licence_report.py) in a real headless browser.

Renders the page twice — from the demo's records directory after one sync, and from a DuckDB
file holding the four-sync history (test_trend.py's) — opens each in Debian's Chromium through
chromedriver (Selenium), and checks: it loads with no console message of level SEVERE (errors,
failed loads) and fetches nothing; one bar chart per paid site and none for the others; the
totals shown, and each chart's figures, equal what the SQL returns; the trend charts appear
only with a history of more than one day; the reclaimable list has every row the SQL returns
and sorts by a column when its header is clicked.

Chromium and chromedriver: /usr/bin/chromium and /usr/bin/chromedriver (`apt-get install
chromium chromium-driver`; .ci/run installs them when missing), or CHROMIUM / CHROMEDRIVER.
Without them, the test is skipped with a message saying so. REPORT_SCREENSHOT=path.png saves a
screenshot of the history page (docs/licence-report.png was made so).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import STREAMS, licence_report

# The history's last sync day (conftest.SYNCS), the page's as_of: noon, after its rows.
AS_OF_LAST_SYNC = "CAST('2026-11-13 23:00:00' AS TIMESTAMP)"

duckdb = pytest.importorskip("duckdb")


def find(env: str, *names: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env]
    for n in names:
        found = shutil.which(n)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (integration_tests/report/requirements.txt)")
    from selenium.webdriver.chrome.service import Service

    chromium = find("CHROMIUM", "chromium", "chromium-browser")
    driver_bin = find("CHROMEDRIVER", "chromedriver")
    if not chromium or not driver_bin:
        pytest.skip("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver): the page's browser test is skipped")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}", "--window-size=1280,1800"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_bin), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def write_records(d: Path, records: dict[str, list[dict]]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for stream in STREAMS:
        with open(d / f"{stream}.jsonl", "w", encoding="utf-8") as f:
            for r in records[stream]:
                f.write(json.dumps(r) + "\n")
    return d


def render(con, out: Path, source: str, **params) -> tuple[Path, dict]:
    page, _ = licence_report.build(con, source=source, prices=licence_report.DEFAULT_PRICES,
                                   tiers=licence_report.DEFAULT_TIERS, params=params)
    out.write_text(page, encoding="utf-8")
    sql = {name: licence_report.report_rows(con, name, **params) for name in
           ("license_utilization.sql", "reclaimable_seats.sql", "license_trend.sql", "bill.sql", "seat_holders.sql")}
    return out, sql


@pytest.fixture(scope="module")
def single_page(synced, tmp_path_factory):
    """The page from a records directory (what the demo renders), after one sync."""
    _, records, _ = synced
    d = tmp_path_factory.mktemp("page1")
    con = licence_report.connect_records(write_records(d / "records", records))
    return render(con, d / "licence-report.html", "records")


@pytest.fixture(scope="module")
def history_page(history, tmp_path_factory):
    """The page from a DuckDB file holding the four-sync history."""
    _, tables, _ = history
    d = tmp_path_factory.mktemp("page2")
    loader = licence_report.connect_records(write_records(d / "records", tables))
    db_file = d / "history.duckdb"
    loader.execute(f"ATTACH '{db_file}' AS f")
    for stream in STREAMS:
        loader.execute(f'CREATE TABLE f.main."{stream}" AS SELECT * FROM "{stream}"')
    loader.execute("DETACH f")
    loader.close()
    # as_of: the last sync's day (the sandbox's activity clock stops before the syncs' days), so
    # that the monthly cycles hold the history: each site's peak is shown.
    return render(licence_report.connect_duckdb(db_file), d / "licence-report.html", f"{db_file.name} (the test's four syncs)",
                  as_of=AS_OF_LAST_SYNC)


def number(text: str):
    digits = re.sub(r"[^0-9.\-]", "", text)
    return float(digits) if digits else None


def check_page(driver, page: Path, sql: dict, trend_expected: bool) -> None:
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the page loads nothing from the network"
    driver.get_log("browser")  # drop anything earlier
    driver.get(page.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    logs = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not logs, f"console errors: {logs}"
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0, "the page fetched something"

    sites = sql["license_utilization.sql"]
    total = next(r for r in sites if r["row_type"] == "total")
    paid = {r["workspace_id"]: r for r in sites if r["row_type"] == "site" and r["paid_site"]}
    charts = driver.execute_script("""
        return Array.from(document.querySelectorAll('svg.site-chart')).map(function (svg) {
          var v = {};
          svg.querySelectorAll('[data-field]').forEach(function (t) { v[t.getAttribute('data-field')] = t.textContent; });
          return {id: svg.getAttribute('data-workspace-id'), values: v};
        });""")
    assert len(charts) == len(paid) and {c["id"] for c in charts} == set(paid), "one chart per paid site"
    for c in charts:
        for key, text in c["values"].items():
            assert number(text) == paid[c["id"]][key], (c["id"], key, text)

    shown = driver.execute_script("""
        var v = {}; document.querySelectorAll('#totals .total').forEach(function (t) { v[t.getAttribute('data-field')] = t.textContent; });
        return v;""")
    assert {"seats_paid", "seats_billed", "active_30d", "reclaimable", "new_not_active", "not_billed", "cost_paid_month",
            "cost_reclaimable_month", "tier_saving_month"} <= set(shown)
    for key, text in shown.items():
        want = total[key]
        got = number(text)
        assert (got is None) == (want is None) and (want is None or got == pytest.approx(want, abs=0.005)), (key, text, want)

    # The not-paid sites' table: each column is the figure it names (holders, then billed ones).
    unpaid = {r["workspace_id"]: r for r in sites if r["row_type"] == "site" and not r["paid_site"]}
    cells = driver.execute_script("""
        return Array.from(document.querySelectorAll('#unpaid tbody tr')).map(function (tr) {
          var v = {}; tr.querySelectorAll('[data-field]').forEach(function (t) { v[t.getAttribute('data-field')] = t.textContent; });
          return {id: tr.getAttribute('data-workspace-id'), values: v};
        });""")
    assert {c["id"] for c in cells} == set(unpaid) and unpaid
    for c in cells:
        assert set(c["values"]) == {"seats_assigned", "seats_billed", "not_billed", "active_30d", "new_not_active", "reclaimable"}
        for key, text in c["values"].items():
            assert number(text) == unpaid[c["id"]][key], (c["id"], key, text)

    # Every seat holder in one category: the table's counts are the total row's.
    cats = driver.execute_script("""
        var v = {}; document.querySelectorAll('#categories [data-field]').forEach(function (t) { v[t.getAttribute('data-field')] = t.textContent; });
        return v;""")
    assert set(cats) == {c for _, _, c, _ in licence_report.CATEGORIES}
    for key, text in cats.items():
        assert number(text) == total[key], (key, text)
    # The bill of each paid site: when a saving starts, and the peak or the renewal.
    bills = {b["workspace_id"]: b for b in sql["bill.sql"] if b["row_type"] == "site"}
    shown_bills = driver.execute_script("""
        return Array.from(document.querySelectorAll('section.site')).map(function (s) {
          var v = {}; s.querySelectorAll('table.bill [data-field]').forEach(function (t) { v[t.getAttribute('data-field')] = t.textContent; });
          return {id: s.getAttribute('data-workspace-id'), values: v};
        });""")
    assert {b["id"] for b in shown_bills} == set(bills)
    for b in shown_bills:
        want = bills[b["id"]]
        if want["billing_cycle"] == "monthly":
            assert b["values"]["saves_from"] == str(want["saves_from"] or "unknown (no cycle start day)")
            if want["cycle_start"]:
                peak = b["values"]["peak_billed_this_cycle"]
                assert (peak.startswith("unknown") if want["peak_billed_this_cycle"] is None
                        else number(peak.split(" billed")[0]) == want["peak_billed_this_cycle"]), (b["id"], peak)
        else:
            assert b["values"]["renewal_date"] == str(want["renewal_date"])
    guard = next(b for b in sql["bill.sql"] if b["row_type"] == "guard")
    assert number(driver.find_element("css selector", "#guard [data-field=seats_billed]").text) == guard["seats_billed"]
    holders = sql["seat_holders.sql"]
    assert driver.execute_script("return document.querySelectorAll('#externals tbody tr').length") == \
        sum(1 for h in holders if h["paid_site"] and h["billed"] and h["external"]) > 0
    assert driver.execute_script("return document.querySelectorAll('#unseen tbody tr').length") == \
        sum(1 for h in holders if h["paid_site"] and h["category"] == "unseen") > 0
    assert driver.execute_script("return document.getElementById('count-warnings')") is None, "Atlassian's counts agree"

    trends = driver.execute_script("return document.querySelectorAll('svg.trend-chart').length")
    assert trends == (len(paid) if trend_expected else 0)
    assert bool(driver.execute_script("return document.getElementById('no-trend') !== null")) != trend_expected

    reclaim = sql["reclaimable_seats.sql"]
    rows = driver.execute_script("return document.querySelectorAll('#reclaimable tbody tr').length")
    assert rows == len(reclaim) > 0
    days_col = driver.execute_script("""
        var ths = document.querySelectorAll('#reclaimable thead th');
        for (var i = 0; i < ths.length; i++) { if (ths[i].textContent === 'days idle') { ths[i].click(); return i; } }
        return -1;""")
    assert days_col >= 0
    values = driver.execute_script(
        "var col = arguments[0]; return Array.from(document.querySelectorAll('#reclaimable tbody tr')).map(function (r) { return r.cells[col].getAttribute('data-v'); });",
        days_col)
    numbers = [float(v) if v else float("-inf") for v in values]
    assert numbers == sorted(numbers) and len(set(numbers)) > 2, "sorted by days idle after a click"
    logs = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not logs, f"console errors after sorting: {logs}"


def test_the_page_of_one_sync(browser, single_page):
    page, sql = single_page
    check_page(browser, page, sql, trend_expected=False)


def test_the_page_of_a_history_from_a_duckdb_file(browser, history_page):
    page, sql = history_page
    check_page(browser, page, sql, trend_expected=True)
    shot = os.environ.get("REPORT_SCREENSHOT")
    if shot:
        browser.set_window_size(1280, 1000)
        height = browser.execute_script("return document.getElementById('externals').getBoundingClientRect().top + window.scrollY + 160")
        browser.set_window_size(1280, int(height))
        browser.get(page.as_uri())
        browser.save_screenshot(shot)


def test_the_page_says_where_to_remove_each_reclaimable_seat(single_page):
    """Without a browser: the reclaimable table has a 'remove from' column with each row's
    group(s) or 'direct', as the SQL says."""
    page, sql = single_page
    html = page.read_text(encoding="utf-8")
    assert "<th class=''>remove from</th>" in html
    via = [r["remove_from"] for r in sql["reclaimable_seats.sql"]]
    assert via and None not in via and "direct" in via and any(v != "direct" for v in via)
    for v in set(via):
        assert f'data-v="{v}"' in html, v


def test_the_page_warns_when_a_page_of_seats_is_missed(browser, missed_page, synced, tmp_path):
    """A page of license_assignments lost on the way (the sandbox's drop-items fault): the page
    warns at its top, naming the site whose seats Atlassian counts otherwise, and no other."""
    _, records, _ = synced
    lost = {(r["workspace_id"], r["account_id"], r["role"]) for r in records["license_assignments"]} - \
        {(r["workspace_id"], r["account_id"], r["role"]) for r in missed_page["license_assignments"]}
    (site_id,) = {ws for ws, _, _ in lost}
    con = licence_report.connect_records(write_records(tmp_path / "records", missed_page))
    page, sql = render(con, tmp_path / "licence-report.html", "records, a page missed")
    site = next(r for r in sql["license_utilization.sql"] if r["workspace_id"] == site_id)
    browser.get(page.as_uri())
    warned = browser.execute_script("""
        var w = document.getElementById('count-warnings');
        return w ? Array.from(w.querySelectorAll('li')).map(function (li) { return [li.getAttribute('data-workspace-id'), li.textContent]; }) : null;""")
    assert warned and [w[0] for w in warned] == [site_id], warned
    assert site["site_name"] in warned[0][1] and f"Atlassian counts {site['atlassian_seat_count']:,}" in warned[0][1]
    assert site["atlassian_seat_count"] - site["report_seat_count"] == len(lost)
    # ... above the totals: the first thing read.
    assert browser.execute_script(
        "return document.getElementById('count-warnings').compareDocumentPosition(document.getElementById('totals'))") & 4
