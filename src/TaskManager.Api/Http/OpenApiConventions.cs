namespace TaskManager.Api.Http;

/// <summary>Problem responses that the OpenAPI document should list, declared once per kind of endpoint.</summary>
public static class OpenApiConventions
{
    /// <summary>Every api endpoint: bad input, missing/wrong token, missing scope, oversized body, limits.</summary>
    public static RouteGroupBuilder WithApiConventions(this RouteGroupBuilder group)
    {
        group.ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            // Limits (RateLimiting.cs): the token is over its own (429) or the api is busy (503); both send Retry-After.
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return group;
    }

    /// <summary>Writes to an existing row: it may not exist, If-Match may be stale, or the change may conflict.</summary>
    public static RouteHandlerBuilder WithConcurrencyProblems(this RouteHandlerBuilder builder) =>
        builder.ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed);
}
