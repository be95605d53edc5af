// Starts Swagger UI on /api/docs with the merged document of the whole API. A file of its own,
// not an inline script, so the page keeps to the gateway's Content-Security-Policy.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    // The online validator would send the document to a third party; the page stays on the gateway.
    validatorUrl: null,
  });
});
