// Starts GraphiQL against this page's own URL (the tenant's endpoint). A served file, not an
// inline script, so the page's Content-Security-Policy can forbid inline scripts.
(function () {
  "use strict";
  var url = window.location.href.split("?")[0].split("#")[0];
  var fetcher = GraphiQL.createFetcher({ url: url });
  var hint = JSON.stringify({ Authorization: "Bearer <your token: trellis token create>" }, null, 2);
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultHeaders: hint,
    defaultEditorToolsVisibility: "headers",
    shouldPersistHeaders: false
  }));
})();
