using Microsoft.AspNetCore.StaticFiles;

namespace TaskManager.Api.Board;

/// <summary>
/// The board: static files (plain ES modules) served at <c>/</c> from wwwroot, same origin as the api. The page itself
/// holds no data, so it needs no token; every api call it makes does.
/// </summary>
public static class BoardExtensions
{
    /// <summary>
    /// Scripts and styles only from this origin, nothing inline, no plug-ins, no framing: user text that slipped past
    /// the page's own escaping still could not run.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
        "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>Api responses are data, never documents: nothing in them may load or run.</summary>
    private const string ApiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";

    public static WebApplication UseBoard(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            if (context.Request.Path.StartsWithSegments("/api"))
            {
                headers.ContentSecurityPolicy = ApiContentSecurityPolicy;
            }
            return next(context);
        });
        app.UseDefaultFiles();
        app.UseStaticFiles(new StaticFileOptions
        {
            ContentTypeProvider = ContentTypes(),
            OnPrepareResponse = file =>
            {
                var headers = file.Context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XFrameOptions = "DENY";
                // Revalidated on every load (ETag): a new version of the board reaches browsers at once.
                headers.CacheControl = "no-cache";
            },
        });
        return app;
    }

    private static FileExtensionContentTypeProvider ContentTypes()
    {
        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".mjs"] = "text/javascript";
        types.Mappings[".map"] = "application/json";
        types.Mappings[".webmanifest"] = "application/manifest+json";
        return types;
    }
}
