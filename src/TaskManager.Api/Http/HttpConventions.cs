namespace TaskManager.Api.Http;

public static class HttpConventions
{
    /// <summary>Largest request body accepted: a 64 KiB description plus the rest of a task, with room to spare.</summary>
    public const long MaxRequestBodyBytes = 256 * 1024;

    /// <summary>JSON, problem details for every error, request limits and the OpenAPI document.</summary>
    public static WebApplicationBuilder AddHttpConventions(this WebApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            // A misspelt field is an error the client sees, not a silently ignored change.
            options.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
            // "5" is not a number: a wrong type is an error, not a guess.
            options.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
            // {"title":"a","title":"b"} has no one meaning (parsers disagree on which wins): refuse it rather than guess.
            options.SerializerOptions.AllowDuplicateProperties = false;
            options.SerializerOptions.Converters.Add(new NoNulStringConverter());
        });
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();
        builder.Services.AddExceptionHandler<DatabaseExceptionHandler>();
        // Binding failures throw, so BadRequestExceptionHandler can say what was wrong.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes);
        builder.Services.AddApiDocumentation();
        return builder;
    }

    public static WebApplication UseHttpConventions(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(async (context, next) =>
        {
            // PostgreSQL text cannot hold NUL; refuse it in the query here, naming the parameter (bodies: NoNulStringConverter).
            var nul = context.Request.Query.Where(q => q.Value.Any(v => v?.Contains('\0') == true)).Select(q => q.Key).ToArray();
            if (nul.Length > 0)
            {
                var validation = new Validation();
                foreach (var name in nul)
                {
                    validation.Add(name, $"{name} must not contain NUL (%00) characters.");
                }
                await validation.Problem().ExecuteAsync(context);
                return;
            }
            await next(context);
        });
        // Kestrel enforces the limit while reading a chunked body; a declared length over it is refused up front,
        // on every server (the in-process test server has no Kestrel limits).
        app.Use(async (context, next) =>
        {
            if (context.Request.ContentLength > MaxRequestBodyBytes)
            {
                await WriteProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "Request body too large",
                    $"The request body is {context.Request.ContentLength} bytes; the limit is {MaxRequestBodyBytes}.");
                return;
            }
            await next(context);
        });
        // JSON between systems is UTF-8 (RFC 8259). Another charset would be transcoded, and one .NET does not know
        // (charset=klingon) made body binding throw a 500; refuse both, naming the header.
        app.Use(async (context, next) =>
        {
            if (Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type) && type.Charset.HasValue)
            {
                var charset = Microsoft.Net.Http.Headers.HeaderUtilities.RemoveQuotes(type.Charset);
                if (!charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
                {
                    await WriteProblemAsync(context, StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                        $"Content-Type charset '{charset}' is not accepted: send UTF-8, as Content-Type: application/json (charset=utf-8 may be stated).",
                        field: "Content-Type");
                    return;
                }
                if (charset != type.Charset)
                {
                    // charset="utf-8" is valid HTTP, but the JSON body reader looks the quoted name up as is and throws.
                    type.Charset = charset;
                    context.Request.ContentType = type.ToString();
                }
            }
            await next(context);
        });
        return app;
    }

    private static async Task WriteProblemAsync(HttpContext context, int status, string title, string detail, string? field = null)
    {
        context.Response.StatusCode = status;
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title, Detail = detail };
        if (field is not null)
        {
            problem.Extensions["field"] = field;
        }
        await Problems.WriteAsync(context, problem);
    }
}
