"""The dashboard's honesty check, in the browser: is the kernel behind these widgets alive?

After a kernel restart JupyterLab keeps showing the last widgets, frozen: prices that look
current, buttons that do nothing. Only the browser can notice that, so a tiny anywidget
(anywidget is already required by plotly's ``FigureWidget``) watches a heartbeat the dashboard
task bumps every ``BEAT_S``; if it stops for ``STALE_MS`` the front end shows a red banner and
greys every control out. The kernel also says what it knows directly (session closed, feed
down) through ``message``/``level``, shown at once.

The same front-end code keeps the charts the width of their box: a ``ResizeObserver`` on the
dashboard turns a width change (first layout, tab switch, sidebar toggled) into the window
``resize`` that Plotly's ``responsive`` config listens for.
"""

from __future__ import annotations

from functools import cache
from typing import Any

BEAT_S = 1.0
STALE_MS = 5_000

ESM = """
function render({ model, el }) {
  const banner = document.createElement("div");
  banner.className = "lt-banner";
  banner.hidden = true;
  banner.setAttribute("role", "alert");
  el.appendChild(banner);
  let seen = Date.now();
  let width = -1;
  const root = () => el.closest(".livetrade-dashboard");
  function check() {
    const r = root();
    const quiet = Date.now() - seen;
    let level = model.get("level");
    let text = model.get("message");
    if (level !== "dead" && quiet > model.get("stale_ms")) {
      level = "dead";
      text = "Kernel not answering for " + Math.round(quiet / 1000) + " s: it restarted, " +
        "stopped or is busy in a long cell. This dashboard is not live: prices are frozen " +
        "and its buttons do nothing. Re-run the dashboard cell once the kernel is back.";
    }
    banner.hidden = !text;
    banner.textContent = text || "";
    banner.dataset.level = level || "";
    if (r) {
      r.classList.toggle("lt-offline", level === "dead");
      r.classList.toggle("lt-warning", level === "warn");
      const w = r.clientWidth;
      if (w !== width) {
        width = w;  // Plotly's responsive charts follow window resizes only
        requestAnimationFrame(() => window.dispatchEvent(new Event("resize")));
      }
    }
  }
  model.on("change:beat", () => { seen = Date.now(); check(); });
  model.on("change:message", check);
  model.on("change:level", check);
  const timer = setInterval(check, 250);
  check();
  return () => {
    clearInterval(timer);
    const r = root();
    if (r) r.classList.remove("lt-offline", "lt-warning");
  };
}
export default { render };
"""


@cache
def _beacon_class() -> Any:
    import anywidget
    import traitlets

    class Beacon(anywidget.AnyWidget):
        _esm = ESM
        beat = traitlets.Int(0).tag(sync=True)
        message = traitlets.Unicode("").tag(sync=True)
        level = traitlets.Unicode("").tag(sync=True)  # "", "warn" or "dead"
        stale_ms = traitlets.Int(STALE_MS).tag(sync=True)

    return Beacon


class Heartbeat:
    """Thin adapter: bump ``beat`` at most every ``BEAT_S`` seconds; say what the kernel knows."""

    def __init__(self) -> None:
        self.widget: Any = _beacon_class()()
        self.widget.add_class("lt-beacon")
        self._last = -1e18

    def beat(self, now: float) -> bool:
        if now - self._last < BEAT_S:
            return False
        self._last = now
        self.widget.beat += 1
        return True

    def say(self, level: str, message: str) -> None:
        """``level`` "" (all well), "warn" (feed trouble) or "dead" (greys controls out)."""
        if (self.widget.level, self.widget.message) != (level, message):
            with self.widget.hold_sync():
                self.widget.level = level
                self.widget.message = message
