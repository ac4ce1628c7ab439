using System.ComponentModel.DataAnnotations;
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
            options.AddSchemaTransformer(DescribeOptionalFields);
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

    /// <summary>
    /// A partial-update field (<see cref="Optional{T}"/>) is, on the wire, just a T that may be left out: describe it
    /// as T, and never as required.
    /// </summary>
    private static async Task DescribeOptionalFields(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        var type = context.JsonTypeInfo.Type;
        if (IsOptional(type))
        {
            var inner = await context.GetOrCreateSchemaAsync(type.GetGenericArguments()[0], null, ct);
            schema.Type = inner.Type;
            schema.Format = inner.Format;
            schema.Enum = inner.Enum;
            schema.Items = inner.Items;
            schema.OneOf = inner.OneOf;
            schema.AnyOf = inner.AnyOf;
            schema.AllOf = inner.AllOf;
            schema.Properties = inner.Properties;
            return;
        }
        if (type.Name.EndsWith("Request", StringComparison.Ordinal) && type.Namespace?.StartsWith("TaskManager.", StringComparison.Ordinal) == true)
        {
            // Request records bind every field as optional and validate them in the handler, which names each
            // missing one; [Required] marks those the handler insists on.
            schema.Required = context.JsonTypeInfo.Properties
                .Where(p => p.AttributeProvider?.IsDefined(typeof(RequiredAttribute), inherit: true) == true)
                .Select(p => p.Name)
                .ToHashSet();
        }
    }

    private static bool IsOptional(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Optional<>);

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
