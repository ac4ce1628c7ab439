using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace TaskManager.Api.Http;

/// <summary>
/// The OpenAPI document (<c>/openapi/v1.json</c>) and, in development, a browsable API reference (<c>/scalar</c>).
/// Outside development the document needs a token like every other endpoint.
/// </summary>
public static class ApiDocumentation
{
    public static IServiceCollection AddApiDocumentation(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "TaskManager API",
                    Version = "v1",
                    Description = "Projects, tasks, dependencies, comments, history and live events. Every endpoint but /health and /alive " +
                                  "needs Authorization: Bearer <token>. Errors are RFC 9457 problem details. Writes accept If-Match " +
                                  "(the ETag of the last read) and answer 412 when it is stale; creates accept Idempotency-Key.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes["Bearer"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "A TaskManager token (the admin token, or one created with POST /api/tokens).",
                };
                document.Security ??= [];
                document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("Bearer", document)] = [] });
                return Task.CompletedTask;
            });
        });

    public static WebApplication MapApiDocumentation(this WebApplication app)
    {
        var document = app.MapOpenApi();
        if (app.Environment.IsDevelopment())
        {
            document.AllowAnonymous();
            app.MapScalarApiReference(options => options
                .WithTitle("TaskManager API")
                .AddPreferredSecuritySchemes("Bearer"))
                .AllowAnonymous();
        }
        return app;
    }
}
