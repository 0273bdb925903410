// The memory book's search: every word typed must occur in a soldier's entry (name, places, story,
// captions); the index is window.AMANAT_SEARCH (search-index.js, the same data as search-index.json).
(function () {
  "use strict";
  var input = document.getElementById("q");
  var results = document.getElementById("results");
  var all = document.getElementById("all");
  var none = document.getElementById("no-results");
  var index = window.AMANAT_SEARCH || [];
  if (!input || !results) { return; }
  function show(query) {
    var words = query.toLocaleLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; });
    while (results.firstChild) { results.removeChild(results.firstChild); }
    if (words.length === 0) {
      results.hidden = true; none.hidden = true; all.hidden = false;
      return;
    }
    var found = index.filter(function (entry) {
      return words.every(function (w) { return entry.text.indexOf(w) !== -1; });
    });
    found.forEach(function (entry) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = entry.url;
      link.textContent = entry.name;
      item.appendChild(link);
      var details = [entry.year, entry.region].filter(function (d) { return d; }).join(" — ");
      if (details) { item.appendChild(document.createTextNode(", " + details)); }
      results.appendChild(item);
    });
    all.hidden = true;
    results.hidden = found.length === 0;
    none.hidden = found.length !== 0;
  }
  input.addEventListener("input", function () { show(input.value); });
  if (input.value) { show(input.value); }
}());
