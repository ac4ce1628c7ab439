using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace TaskManager.Api.Http;

/// <summary>
/// The OpenAPI document (<c>/openapi/v1.json</c>) and, in development, a browsable API reference (<c>/scalar</c>).
/// Outside development the document needs a token like every other endpoint.
/// </summary>
public static partial class ApiDocumentation
{
    /// <summary>What each tag (a feature's <c>.WithTags(...)</c>) covers; a new tag needs a line here.</summary>
    private static readonly Dictionary<string, string> TagDescriptions = new()
    {
        ["Tokens"] = "The calling token and the actors (people and agents) that hold tokens. Listing, creating and revoking " +
                     "tokens needs the admin scope.",
        ["Projects"] = "Projects group tasks under a short key (KEY in the task reference KEY-n). An archived project is hidden " +
                       "from lists and takes no new tasks.",
        ["Tasks"] = "Tasks on a project's board: create, read, change, move between status columns, claim the best ready one, " +
                    "archive, and the tasks each is blocked by.",
        ["Comments"] = "A task's work log: markdown comments, oldest first.",
        ["History and events"] = "Every change, as history per task or project, and live as a stream of Server-Sent Events.",
    };

    public static IServiceCollection AddApiDocumentation(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            // A partial-update field is described in place, as its value (ConverterSchemas), not as a component of its own.
            options.CreateSchemaReferenceId = type =>
                ConverterSchemas.OptionalValueType(type.Type) is null ? ComponentName(OpenApiOptions.CreateDefaultSchemaReferenceId(type)) : null;
            options.AddSchemaTransformer(ConverterSchemas.DescribeAsync);
            options.AddSchemaTransformer(DescribeRequiredFields);
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "TaskManager API",
                    Version = "v1",
                    Description = "Projects, tasks, dependencies, comments, history and live events. Every endpoint but /health and /alive " +
                                  "needs Authorization: Bearer <token>. Errors are RFC 9457 problem details. Writes accept If-Match " +
                                  "(the ETag of the last read) and answer 412 when it is stale; every write accepts Idempotency-Key.",
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
                foreach (var tag in document.Tags ?? Enumerable.Empty<OpenApiTag>())
                {
                    tag.Description ??= TagDescriptions.GetValueOrDefault(tag.Name ?? "");
                }
                // The generator names the origin the request came in on: localhost in development, an internal address
                // behind a proxy. Relative to the document's own address, the server is right wherever it is read from.
                foreach (var server in document.Servers ?? [])
                {
                    server.Url = RelativeServerUrl(server.Url);
                }
                return Task.CompletedTask;
            });
        });

    /// <summary>
    /// Component names may only hold letters, digits, '.', '-' and '_'; the default name of a generic type over an array
    /// has brackets (<c>Page&lt;TaskDto[]&gt;</c> would be "PageOfTaskDto[]"), so spell them out ("PageOfTaskDtoArray").
    /// </summary>
    private static string? ComponentName(string? name) =>
        name is null ? null : NotAllowedInComponentNames().Replace(name.Replace("[]", "Array", StringComparison.Ordinal), "");

    [GeneratedRegex("[^a-zA-Z0-9._-]")]
    private static partial Regex NotAllowedInComponentNames();

    /// <summary>The path of a server URL, without origin or trailing slash: "http://host/base/" is "/base", "http://host/" is "/".</summary>
    private static string RelativeServerUrl(string? url)
    {
        var path = Uri.TryCreate(url, UriKind.Absolute, out var absolute) ? absolute.AbsolutePath : url ?? "";
        return path.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : "/";
    }

    /// <summary>
    /// Request records bind every field as optional and validate them in the handler, which names each missing one;
    /// [Required] marks those the handler insists on.
    /// </summary>
    private static Task DescribeRequiredFields(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        var type = context.JsonTypeInfo.Type;
        if (type.Name.EndsWith("Request", StringComparison.Ordinal) && type.Namespace?.StartsWith("TaskManager.", StringComparison.Ordinal) == true)
        {
            schema.Required = context.JsonTypeInfo.Properties
                .Where(p => p.AttributeProvider?.IsDefined(typeof(RequiredAttribute), inherit: true) == true)
                .Select(p => p.Name)
                .ToHashSet();
        }
        return Task.CompletedTask;
    }

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
