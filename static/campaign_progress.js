// Campaign page: refresh the progress bar and counts while the live send runs.
// Without JavaScript the page shows the counts as of its load; a reload updates them.
(function () {
  "use strict";
  var card = document.getElementById("campaign-progress-card");
  if (!card || card.dataset.status === "sent") {
    return;
  }
  var url = card.dataset.progressUrl;
  var bar = document.getElementById("campaign-progress");

  function show(counts) {
    ["sent", "failed", "pending", "total"].forEach(function (key) {
      document.getElementById("campaign-" + key).textContent = counts[key];
    });
    bar.max = Math.max(counts.total, 1);
    bar.value = counts.sent + counts.failed;
    bar.textContent = bar.value + " of " + counts.total;
    var status = document.getElementById("campaign-status");
    if (status) {
      status.textContent = counts.status.charAt(0).toUpperCase() + counts.status.slice(1);
      status.className = "badge campaign-" + counts.status;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (counts) {
        if (counts) {
          show(counts);
        }
        if (!counts || counts.status !== "sent") {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 1000);
})();
