namespace TaskManager.Api.Http;

/// <summary>Refuses query parameters an endpoint does not know, so a typo'd filter is an error, not ignored.</summary>
public static class QueryValidation
{
    /// <summary>Unknown parameters named one by one in a problem; the rest are counted.</summary>
    private const int MaxNamed = 10;

    /// <summary>
    /// Accepts the query parameters the handler binds with [FromQuery] (<see cref="QueryParameters"/>: those of its
    /// [AsParameters] query record, so the list cannot drift from the record) and <paramref name="alsoAccepted"/>, which
    /// something other than the handler reads.
    /// </summary>
    public static RouteHandlerBuilder RejectsUnknownQuery(this RouteHandlerBuilder builder, params string[] alsoAccepted)
    {
        string[]? names = null;
        return builder.AddEndpointFilter(async (context, next) =>
        {
            // Read from the endpoint's metadata once it exists, at its first request.
            names ??= [.. QueryParameters.Of(context.HttpContext.GetEndpoint()), .. alsoAccepted];
            var unknown = context.HttpContext.Request.Query.Keys
                .Where(key => !names.Contains(key, StringComparer.OrdinalIgnoreCase))
                .ToArray();
            if (unknown.Length == 0)
            {
                return await next(context);
            }
            var validation = new Validation();
            foreach (var key in unknown.Take(MaxNamed))
            {
                validation.Add(key, $"Unknown query parameter '{key}'. Accepted: {string.Join(", ", names)}.");
            }
            if (unknown.Length > MaxNamed)
            {
                // Hundreds of unknown parameters would otherwise make a problem ten times the size of the request.
                validation.Add("query", $"{unknown.Length - MaxNamed} more unknown query parameters, not listed.");
            }
            return validation.Problem();
        });
    }
}
