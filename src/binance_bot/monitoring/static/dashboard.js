// The dashboard page: renders the server's snapshots (Server-Sent Events) and sends the
// control actions. Data is written with textContent only, never parsed as HTML.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  let lastCurveKey = "";

  function fmtTime(ms) {
    if (!ms) return "";
    return new Date(Number(ms)).toISOString().replace("T", " ").slice(0, 19);
  }

  // Decimal strings from the server ("60345.81000000", "0E-8") shown plainly; "" for none.
  function num(value, zeroAs) {
    if (value === null || value === undefined || value === "") return "";
    const x = Number(value);
    if (!Number.isFinite(x)) return String(value);
    if (x === 0 && zeroAs !== undefined) return zeroAs;
    return x.toLocaleString("en-US", { maximumFractionDigits: 8 });
  }

  function sign(value) {
    const x = parseFloat(value);
    return x > 0 ? "pos" : x < 0 ? "neg" : "";
  }

  function fillTable(id, rows, columns) {
    const body = $(id).querySelector("tbody");
    const fresh = document.createElement("tbody");
    for (const row of rows) {
      const tr = document.createElement("tr");
      if (row.symbol) tr.dataset.symbol = row.symbol;
      for (const [key, cls] of columns) {
        const td = document.createElement("td");
        const value = typeof key === "function" ? key(row) : row[key];
        td.textContent = value === null || value === undefined ? "" : String(value);
        const klass = typeof cls === "function" ? cls(row) : cls;
        if (klass) td.className = klass;
        tr.appendChild(td);
      }
      fresh.appendChild(tr);
    }
    body.replaceWith(fresh);
    $(id + "-empty").hidden = rows.length > 0;
  }

  function setState(status) {
    const state = $("state");
    let name = "running";
    if (status.kill_switch && status.kill_switch.tripped) name = "killed";
    else if (status.stopping) name = "stopping";
    else if (status.paused) name = "paused";
    state.textContent = name;
    state.className = "badge " + name;
    const mode = $("mode");
    mode.textContent = status.mode;
    mode.className = "badge " + status.mode;
    $("run").textContent = "run " + status.run_id + " · " + status.strategy + " · " + status.symbols.join(", ");
    $("kpi-equity").textContent = num(status.equity) + " " + status.quote_asset;
    $("kpi-positions").textContent = status.open_positions;
    $("kpi-lastbar").textContent = fmtTime(status.last_bar_time);
    $("kpi-kill").textContent = status.kill_switch.tripped ? "TRIPPED: " + status.kill_switch.reason : "armed";
    $("kpi-kill").className = "value small " + (status.kill_switch.tripped ? "neg" : "");
  }

  function renderChart(curve) {
    const key = curve.length + ":" + (curve.length ? curve[curve.length - 1].join(",") : "");
    if (key === lastCurveKey || typeof Plotly === "undefined") return;
    lastCurveKey = key;
    const trace = {
      x: curve.map((p) => new Date(Number(p[0]))),
      y: curve.map((p) => Number(p[1])),
      type: "scatter",
      mode: "lines",
      line: { color: "#0969da", width: 2 },
      name: "equity",
    };
    const layout = {
      margin: { l: 60, r: 10, t: 10, b: 30 },
      xaxis: { type: "date" },
      yaxis: { tickformat: ",.2f" },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
    };
    Plotly.react("equity-chart", [trace], layout, { displayModeBar: false, responsive: true });
  }

  function renderApi(s) {
    const dl = document.createElement("dl");
    dl.id = "api";
    dl.className = "kv";
    const add = (label, value) => {
      if (value === undefined || value === null) return;
      const dt = document.createElement("dt");
      dt.textContent = label;
      const dd = document.createElement("dd");
      dd.textContent = typeof value === "object" ? JSON.stringify(value) : String(value);
      dl.append(dt, dd);
    };
    const api = s.api || {};
    add("environment", api.environment);
    add("requests", api.requests);
    add("errors", api.errors);
    if (api.errors_by_code && Object.keys(api.errors_by_code).length) add("errors by code", api.errors_by_code);
    if (api.latency_p50_ms !== undefined) add("latency p50 / p99", api.latency_p50_ms.toFixed(1) + " / " + api.latency_p99_ms.toFixed(1) + " ms");
    add("weight used", api.weight_used);
    add("429 answers", api.rate_limited_429);
    if (api.cache_hit_rate !== undefined) add("cache hit rate", (100 * api.cache_hit_rate).toFixed(1) + " %");
    if (api.breakers) add("circuit breakers", Object.entries(api.breakers).map((e) => e.join(": ")).join(", ") || "–");
    add("stream reconnects", api.stream_reconnects);
    add("orders sent", s.orders_summary.sent);
    add("orders rejected", s.orders_summary.rejected);
    if (Object.keys(s.orders_summary.rejected_by_code).length) add("rejected by code", s.orders_summary.rejected_by_code);
    if (s.webhook) add("webhook", "sent " + s.webhook.sent + ", failed " + s.webhook.failed + ", dropped " + s.webhook.dropped + ", queued " + s.webhook.queued);
    $("api").replaceWith(dl);
  }

  function renderEvents(events) {
    const ul = document.createElement("ul");
    ul.id = "events";
    ul.className = "events";
    for (const e of events) {
      const li = document.createElement("li");
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = e.event;
      const rest = Object.entries(e)
        .filter(([k]) => !["event", "time_ms", "run_id", "mode"].includes(k))
        .map(([k, v]) => k + "=" + v)
        .join(" ");
      li.append(kind, document.createTextNode(fmtTime(e.time_ms) + " " + rest));
      ul.appendChild(li);
    }
    $("events").replaceWith(ul);
  }

  function render(s) {
    setState(s.status);
    $("kpi-pnl").textContent = s.statistics.total_pnl;
    $("kpi-trades").textContent = s.statistics.total_trades;
    $("kpi-winrate").textContent = s.statistics.win_rate;
    $("kpi-drawdown").textContent = s.statistics.max_drawdown;
    fillTable("positions", s.positions, [
      ["symbol"], [(r) => num(r.qty)], [(r) => num(r.entry)], [(r) => num(r.stop)], [(r) => num(r.take_profit)],
      [(r) => num(r.last_close)], ["unrealized_pnl", (r) => sign(r.unrealized_pnl)],
      [(r) => fmtTime(r.opened_at)],
    ]);
    fillTable("orders", s.orders, [
      ["symbol"], ["side"], ["type"], [(r) => num(r.qty)], [(r) => num(r.price, "market")],
      [(r) => num(r.stop_price, "–")], ["status"], ["client_order_id"],
    ]);
    fillTable("trades", s.trades, [
      ["symbol"], [(r) => fmtTime(r.exit_time)], [(r) => num(r.entry_price)], [(r) => num(r.exit_price)],
      [(r) => num(r.qty)], ["pnl", (r) => sign(r.pnl)], ["return_pct", (r) => sign(r.return_pct)], ["exit_reason"],
    ]);
    renderApi(s);
    renderEvents(s.events);
    const log = $("log");
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent = s.log.join("\n");
    if (atBottom) log.scrollTop = log.scrollHeight;
    renderChart(s.equity_curve);
  }

  function setConnection(up) {
    const c = $("connection");
    c.textContent = up ? "live" : "disconnected (the bot may have stopped)";
    c.className = "conn " + (up ? "up" : "down");
  }

  const source = new EventSource("/events");
  source.addEventListener("snapshot", (e) => {
    setConnection(true);
    render(JSON.parse(e.data));
  });
  source.addEventListener("error", () => setConnection(false));

  for (const button of document.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", async () => {
      if (!window.confirm(button.dataset.confirm)) return;
      const out = $("action-result");
      button.disabled = true;
      out.className = "";
      out.textContent = button.textContent + "…";
      try {
        const resp = await fetch("/api/" + button.dataset.action, {
          method: "POST",
          headers: { "X-CSRF-Token": csrf },
          credentials: "same-origin",
        });
        const body = await resp.json();
        if (!resp.ok || !body.ok) throw new Error(body.error || "HTTP " + resp.status);
        out.textContent = button.textContent + ": done";
        setState(body.status);
      } catch (err) {
        out.className = "error";
        out.textContent = button.textContent + " failed: " + err.message;
      } finally {
        button.disabled = false;
      }
    });
  }
})();
