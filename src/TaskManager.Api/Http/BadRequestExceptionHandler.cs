using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace TaskManager.Api.Http;

/// <summary>
/// Turns request-binding failures (malformed JSON, wrong types, unknown fields, unknown enum values, oversized bodies,
/// bad route or query values) into problems that name what was wrong, instead of a bare 400 or a 500.
/// </summary>
public sealed class BadRequestExceptionHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        var problem = new ProblemDetails
        {
            Status = badRequest.StatusCode,
            Title = badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request body too large" : "Bad request",
            Detail = badRequest.InnerException is JsonException json
                ? Describe(json)
                : badRequest.Message,
        };
        if (badRequest.InnerException is JsonException { Path: { } path })
        {
            problem.Extensions["field"] = path;
        }
        context.Response.StatusCode = badRequest.StatusCode;
        return await Problems.WriteAsync(context, problem, exception);
    }

    private static string Describe(JsonException json)
    {
        // System.Text.Json names .NET types in its messages; say it in the API's terms instead.
        var where = json.Path is { Length: > 0 } path && path != "$" ? $" at '{path}'" : "";
        return json.Message switch
        {
            NoNulStringConverter.Message => $"Invalid value{where}: {NoNulStringConverter.Message}",
            var m when m.Contains("could not be mapped to any .NET member", StringComparison.Ordinal) =>
                $"Unknown field{where}. Remove it; see the OpenAPI document for the fields this endpoint accepts.",
            var m when m.StartsWith("Duplicate property", StringComparison.Ordinal) =>
                $"Duplicate field{where}: send each field once.",
            var m when m.Contains("could not be converted", StringComparison.Ordinal) =>
                $"Invalid value{where}: wrong type or not one of the allowed values.",
            _ => $"The request body is not valid JSON{where}.",
        };
    }
}
