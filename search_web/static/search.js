// Progressive enhancement only: the page works without this file.
// Ticking a facet box or changing sort/page size submits the search form.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.classList && target.classList.contains("autosubmit")) {
    var form = document.getElementById("search-form");
    if (form) { form.submit(); }
  }
});
