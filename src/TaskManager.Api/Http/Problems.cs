using Microsoft.AspNetCore.Http.HttpResults;

namespace TaskManager.Api.Http;

/// <summary>RFC 9457 problems that clients (people and agents) can act on.</summary>
public static class Problems
{
    public static ProblemHttpResult NotFound(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status404NotFound, title: "Not found");

    public static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Bad request");

    public static ProblemHttpResult Conflict(string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict", extensions: extensions);

    public static ProblemHttpResult PreconditionFailed(string what, int currentVersion) =>
        TypedResults.Problem(
            $"{what} was changed by someone else (current version {currentVersion}). Re-read it, apply your change again and send If-Match: \"{currentVersion}\".",
            statusCode: StatusCodes.Status412PreconditionFailed,
            title: "Version mismatch",
            extensions: new Dictionary<string, object?> { ["currentVersion"] = currentVersion });

    public static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });

    /// <summary>
    /// Writes a problem from middleware or an exception handler, also to a client whose Accept leaves out JSON (e.g.
    /// <c>Accept: application/xml</c>): the problem details service declines to write for those, and a declined problem
    /// became a 500. The problem result falls back to application/problem+json.
    /// </summary>
    public static async ValueTask<bool> WriteAsync(HttpContext context, Microsoft.AspNetCore.Mvc.ProblemDetails problem, Exception? exception = null)
    {
        var service = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        if (!await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception }))
        {
            await TypedResults.Problem(problem).ExecuteAsync(context);
        }
        return true;
    }
}

/// <summary>Collects every field error of a request so the client sees them all at once.</summary>
public sealed class Validation
{
    private readonly Dictionary<string, List<string>> _errors;
    private readonly string _prefix;

    public Validation() : this(new(StringComparer.Ordinal), "")
    {
    }

    private Validation(Dictionary<string, List<string>> errors, string prefix) => (_errors, _prefix) = (errors, prefix);

    public bool IsValid => _errors.Count == 0;

    /// <summary>
    /// The errors of a nested object, named by their path (<c>tasks[0].title</c>), so that the validators of a field
    /// serve it unchanged; they land in this collection.
    /// </summary>
    public Validation At(string path) => new(_errors, $"{_prefix}{path}.");

    public void Add(string field, string message)
    {
        field = _prefix + field;
        if (!_errors.TryGetValue(field, out var messages))
        {
            _errors[field] = messages = [];
        }
        messages.Add(message);
    }

    public ValidationProblem Problem() =>
        TypedResults.ValidationProblem(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));
}
