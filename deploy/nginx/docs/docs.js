// The API explorer: Swagger UI over the gateway's merged OpenAPI document. "Try it out" sends the
// requests to this same gateway; "Authorize" takes an access token from POST /auth/login.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    filter: true,
    // Tokens live for 15 minutes; keeping them across reloads of this page is convenient and safe
    // enough for a developer tool (localStorage of this origin only).
    persistAuthorization: true,
    tryItOutEnabled: false,
    // No "validator" badge: it would call an external service.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
