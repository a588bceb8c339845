// PSV dashboard: live changes by server-sent events; counters move without a reload.
(function () {
  "use strict";
  var feed = document.getElementById("feed");
  if (!feed || !window.EventSource) { return; }
  var FIGURE = { booked: "appointments", cancelled: "cancelled", attended: "attended",
                 no_show: "no_shows", registered: "event_registrations" };
  var state = document.getElementById("live-state");
  var region = feed.getAttribute("data-region");
  var url = "/dashboard/events" + (region ? "?region=" + encodeURIComponent(region) : "");
  var source = new EventSource(url);

  function bump(el) {
    var n = parseInt(el.textContent, 10);
    el.textContent = String((isNaN(n) ? 0 : n) + 1);
    el.classList.remove("flash");
    void el.offsetWidth;
    el.classList.add("flash");
  }

  source.addEventListener("open", function () { state.classList.remove("off"); });
  source.addEventListener("error", function () { state.classList.add("off"); });
  source.addEventListener("change", function (message) {
    var change = JSON.parse(message.data);
    var key = FIGURE[change.kind];
    if (!key) { return; }
    if (feed.getAttribute("data-live-today") === "1") {
      document.querySelectorAll('[data-total="' + key + '"]').forEach(bump);
      document.querySelectorAll('[data-region="' + change.tenant_id + '"][data-key="' + key + '"]').forEach(bump);
    }
    var item = document.createElement("li");
    item.setAttribute("data-kind", change.kind);
    var when = new Date().toLocaleTimeString();
    var parts = [when, feed.getAttribute("data-kind-" + change.kind) || change.kind, change.region_name];
    if (change.service) { parts.push(change.service); }
    item.textContent = parts.join(" · ");
    feed.insertBefore(item, feed.firstChild);
    while (feed.children.length > 20) { feed.removeChild(feed.lastChild); }
  });
})();
