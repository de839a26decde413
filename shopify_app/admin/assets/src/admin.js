/* The admin pages' behaviour: draw charts (Chart.js) and call the JSON API with a session token. */
(function () {
  "use strict";
  var body = document.body;
  var GREEN = "#29845a", BLUE = "#005bd3";

  /* Inside Shopify admin App Bridge hands out fresh tokens; standalone pages carry one. */
  function sessionToken() {
    if (window.shopify && typeof window.shopify.idToken === "function") {
      return window.shopify.idToken();
    }
    return Promise.resolve(body.getAttribute("data-session-token"));
  }

  function api(method, path, payload) {
    return sessionToken().then(function (token) {
      var options = { method: method, headers: { Authorization: "Bearer " + token } };
      if (payload !== undefined) {
        options.headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(payload);
      }
      return fetch(path, options).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        var read = type.indexOf("json") >= 0 ? response.json() : response.text();
        return read.then(function (data) {
          if (!response.ok) { throw new Error((data && data.message) || response.statusText); }
          return data;
        });
      });
    });
  }

  function drawCharts() {
    var data = JSON.parse(document.getElementById("chart-data").textContent || "{}");
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = data[canvas.getAttribute("data-chart")];
      if (!spec) { return; }
      new window.Chart(canvas, {
        type: spec.type,
        data: {
          labels: spec.labels,
          datasets: [{ label: spec.label, data: spec.values, borderColor: BLUE, backgroundColor: spec.type === "line" ? "rgba(0,91,211,.12)" : GREEN, fill: spec.type === "line", tension: 0.25 }]
        },
        options: {
          animation: false, indexAxis: spec.horizontal ? "y" : "x", responsive: true,
          plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true }, y: { beginAtZero: true } }
        }
      });
    });
    document.querySelectorAll("canvas.spark").forEach(function (canvas) {
      var sizes = JSON.parse(canvas.getAttribute("data-sizes") || "[]");
      new window.Chart(canvas, {
        type: "line",
        data: { labels: sizes.map(function (_, i) { return i; }), datasets: [{ data: sizes, borderColor: BLUE, pointRadius: 0 }] },
        options: { animation: false, responsive: false, plugins: { legend: { display: false }, tooltip: { enabled: false } }, scales: { x: { display: false }, y: { display: false, beginAtZero: true } } }
      });
    });
  }

  function ruleOf(form) {
    var value = function (name) { return form.elements[name].value; };
    var rule = { type: value("type") };
    if (rule.type === "rfm") { rule.group = value("group"); return rule; }
    rule.days = parseInt(value("days"), 10);
    if (rule.type === "viewed_without_buying" && value("product_id")) { rule.product_id = parseInt(value("product_id"), 10); }
    if (rule.type === "high_intent") { rule.threshold = parseFloat(value("threshold")); }
    return rule;
  }

  function segmentBuilder() {
    var form = document.getElementById("segment-builder");
    if (!form) { return; }
    var message = document.getElementById("segment-message");
    var showFields = function () {
      form.querySelectorAll("[data-for]").forEach(function (label) {
        label.hidden = label.getAttribute("data-for").split(" ").indexOf(form.elements.type.value) < 0;
      });
    };
    form.elements.type.addEventListener("change", showFields);
    showFields();
    document.getElementById("segment-preview").addEventListener("click", function () {
      api("POST", "/segments/preview", { rule: ruleOf(form) }).then(function (data) {
        message.textContent = data.description + ": " + data.size + " customers";
      }, function (error) { message.textContent = error.message; });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var payload = { name: form.elements.name.value, rule: ruleOf(form) };
      if (form.elements.customer_tag.value) { payload.customer_tag = form.elements.customer_tag.value; }
      api("POST", "/segments/", payload).then(function () { window.location.reload(); },
        function (error) { message.textContent = error.message; });
    });
    document.querySelectorAll("#segment-list [data-action]").forEach(function (button) {
      button.addEventListener("click", function () {
        var id = button.closest("tr").getAttribute("data-segment");
        var action = button.getAttribute("data-action");
        if (action === "export") {
          api("GET", "/segments/" + id + "/export.csv").then(function (text) {
            var link = document.createElement("a");
            link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
            link.download = "segment-" + id + ".csv";
            link.click();
          });
          return;
        }
        api("POST", "/segments/" + id + "/" + action).then(function () { window.location.reload(); },
          function (error) { message.textContent = error.message; });
      });
    });
  }

  function settingsForm() {
    var form = document.getElementById("settings-form");
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var message = document.getElementById("settings-message");
      api("PUT", "/admin/api/settings", {
        consent_mode: form.elements.consent_mode.value,
        retention_months: parseInt(form.elements.retention_months.value, 10),
        session_timeout_minutes: parseInt(form.elements.session_timeout_minutes.value, 10)
      }).then(function () { message.textContent = "Saved"; }, function (error) { message.textContent = error.message; });
    });
  }

  function recommendationSettingsForm() {
    var form = document.getElementById("recommendation-settings-form");
    if (!form) { return; }
    function ids(text) { return text.split(/[\s,]+/).filter(Boolean).map(function (id) { return parseInt(id, 10); }); }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var message = document.getElementById("recommendation-settings-message");
      api("PUT", "/admin/api/recommendations/settings", {
        pinned: ids(form.elements.pinned.value),
        excluded: ids(form.elements.excluded.value),
        holdout_share: parseFloat(form.elements.holdout_share.value),
        holdout_mode: form.elements.holdout_mode.value
      }).then(function () { message.textContent = "Saved"; }, function (error) { message.textContent = error.message; });
    });
  }

  window.ClickstreamAdmin = { api: api, sessionToken: sessionToken };
  drawCharts();
  segmentBuilder();
  settingsForm();
  recommendationSettingsForm();
}());
