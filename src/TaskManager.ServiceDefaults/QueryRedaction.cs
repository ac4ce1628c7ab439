using System.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Query strings carry secrets (<c>/api/events?ticket=…</c>, <c>?access_token=…</c>), so telemetry keeps each
/// parameter's name and never its value: <c>?ticket=Redacted</c>. This holds in every environment, whatever
/// <c>OTEL_DOTNET_EXPERIMENTAL_ASPNETCORE_DISABLE_URL_QUERY_REDACTION</c> says (Aspire sets it, and its HttpClient
/// twin, for its projects in Development).
/// </summary>
internal static class QueryRedaction
{
    public const string RedactedValue = "Redacted";

    /// <summary>
    /// For the ASP.NET Core instrumentation: runs after it has set <c>url.query</c> (redacted or not) and replaces it.
    /// </summary>
    public static void RedactServerQuery(Activity activity, HttpRequest request)
    {
        if (request.QueryString.HasValue)
        {
            activity.SetTag("url.query", Redact(request.QueryString.Value!));
        }
    }

    /// <summary>
    /// For the HttpClient instrumentation: runs after <c>System.Net.Http</c> has set <c>url.full</c> and replaces it.
    /// </summary>
    public static void RedactClientUrl(Activity activity, HttpRequestMessage request)
    {
        if (request.RequestUri is { IsAbsoluteUri: true } uri)
        {
            // No user info (credentials) and no fragment, like System.Net.Http's own value.
            var withoutQuery = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
            activity.SetTag("url.full", uri.Query.Length > 0 ? withoutQuery + Redact(uri.Query) : withoutQuery);
        }
    }

    /// <summary><c>?ticket=abc&amp;flag</c> becomes <c>?ticket=Redacted&amp;flag</c>: names stay, values go.</summary>
    public static string Redact(string query) =>
        "?" + string.Join('&', query.TrimStart('?').Split('&').Select(parameter =>
            parameter.IndexOf('=') is var equals and >= 0 ? $"{parameter[..equals]}={RedactedValue}" : parameter));
}
