using Microsoft.Net.Http.Headers;

namespace TaskManager.Api.Http;

/// <summary>Versions travel as strong ETags (<c>"7"</c>); <c>If-Match</c> takes one of them, or <c>*</c>.</summary>
public static class Concurrency
{
    private const int NeverMatches = -1;

    public static string ETagFor(int version) => $"\"{version}\"";

    /// <summary>
    /// The version the client expects, or null when it sent no <c>If-Match</c> (or <c>*</c>): then the write applies
    /// to whatever is current (last writer wins).
    /// </summary>
    public static bool TryGetExpectedVersion(HttpRequest request, out int? version, out string? error)
    {
        version = null;
        error = null;
        var header = request.Headers.IfMatch.ToString();
        if (string.IsNullOrWhiteSpace(header) || header.Trim() == "*")
        {
            return true;
        }
        if (EntityTagHeaderValue.TryParse(header.Trim(), out var tag)
            && int.TryParse(tag.Tag.AsSpan().Trim('"'), out var parsed) && parsed > 0)
        {
            // If-Match compares strongly (RFC 9110): a weak tag never matches, so the write is refused with 412.
            version = tag.IsWeak ? NeverMatches : parsed;
            return true;
        }
        error = $"If-Match '{header}' is not an ETag this API issued (a quoted version number such as \"3\").";
        return false;
    }

    public static void SetETag(HttpContext context, int version) =>
        context.Response.Headers.ETag = ETagFor(version);
}
