using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace TaskManager.Mcp;

/// <summary>
/// JSON-RPC requests whose <c>params</c> do not have the shape MCP defines (tools/call arguments that are not an object,
/// a tool name that is not a string, a string holding a lone surrogate escape such as <c>"\ud800"</c>) answered as
/// "invalid params" (-32602) that say what was wrong. The SDK reads params outside our tool filters: on its own it
/// answers these with "An error occurred." (-32603, an internal error), and a malformed <c>initialize</c> with an
/// HTTP 500.
/// </summary>
public static class InvalidParams
{
    /// <summary>Turns malformed params of any request into -32602, from inside the SDK's JSON-RPC error handling.</summary>
    public static IMcpServerBuilder WithInvalidParamsErrors(this IMcpServerBuilder builder) =>
        builder.WithMessageFilters(filters => filters.AddIncomingFilter(next => async (context, ct) =>
        {
            try
            {
                await next(context, ct);
            }
            catch (Exception e) when (context.JsonRpcMessage is JsonRpcRequest && IsMalformed(e))
            {
                throw new McpProtocolException(Describe(e), e, McpErrorCode.InvalidParams);
            }
        }));

    /// <summary>
    /// The same for the params the HTTP transport reads itself (those of <c>initialize</c>), before any JSON-RPC handling:
    /// a 400 with a JSON-RPC error body instead of a 500. A startup filter wraps the whole pipeline (Program.cs stays a
    /// table of contents); in Development the developer exception page sits inside it and sees the exception first, so
    /// a filter of that page answers the same.
    /// </summary>
    public static IServiceCollection AddInvalidParamsResponses(this IServiceCollection services) =>
        services.AddTransient<IStartupFilter, InvalidParamsStartupFilter>()
            .AddSingleton<Microsoft.AspNetCore.Diagnostics.IDeveloperPageExceptionFilter, InvalidParamsDeveloperPageFilter>();

    /// <summary>
    /// A POSTed body that is not UTF-8 (JSON-RPC messages are UTF-8 JSON) answered as a parse error (-32700) with a 400,
    /// and a request whose <c>params</c> are not an object (MCP's methods take named params) as invalid params (-32602).
    /// The SDK reads such a body's params leniently and fails later, answering "An error occurred." (-32603, an
    /// internal error), and its tracing reads params before any of our filters. After authorisation, so that only a
    /// signed-in caller's body is read here.
    /// </summary>
    public static IApplicationBuilder UseUtf8RequestBodies(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (HttpMethods.IsPost(context.Request.Method))
        {
            context.Request.EnableBuffering();
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            context.Request.Body.Position = 0;
            if (!System.Text.Unicode.Utf8.IsValid(body.GetBuffer().AsSpan(0, (int)body.Length)))
            {
                await WriteAsync(context, McpErrorCode.ParseError, "Parse error: the body is not valid UTF-8 (JSON-RPC messages are UTF-8 JSON).");
                return;
            }
            if (!ParamsAreAnObject(body.GetBuffer().AsSpan(0, (int)body.Length)))
            {
                await WriteAsync(context, McpErrorCode.InvalidParams, "Invalid params: params must be an object (MCP methods take named params).");
                return;
            }
        }
        await next(context);
    });

    /// <summary>
    /// False when the body is a JSON object whose <c>params</c> is present but neither an object nor null. Anything else
    /// (not JSON, not an object, a batch) is the SDK's to answer.
    /// </summary>
    private static bool ParamsAreAnObject(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return true;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isParams = reader.ValueTextEquals("params"u8);
                reader.Read();
                if (isParams)
                {
                    return reader.TokenType is JsonTokenType.StartObject or JsonTokenType.Null;
                }
                reader.Skip();
            }
            return true;
        }
        catch (JsonException)
        {
            return true;
        }
    }

    /// <summary>
    /// Failures of System.Text.Json reading a value: the request's fault, not the server's. Its reader's errors are
    /// InvalidOperationExceptions marked with a System.Text.Json source (e.g. a lone surrogate escape read as a string).
    /// </summary>
    private static bool IsMalformed(Exception e) =>
        e is JsonException || (e is InvalidOperationException && e.Source?.StartsWith("System.Text.Json", StringComparison.Ordinal) == true);

    /// <summary>A POSTed JSON-RPC body the transport could not read, with nothing answered yet.</summary>
    private static bool IsUnreadableBody(HttpContext context, Exception e) =>
        HttpMethods.IsPost(context.Request.Method) && IsMalformed(e) && !context.Response.HasStarted;

    private static Task WriteAsync(HttpContext context, Exception e) => WriteAsync(context, McpErrorCode.InvalidParams, Describe(e));

    private static async Task WriteAsync(HttpContext context, McpErrorCode code, string message)
    {
        context.Response.Clear();
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("jsonrpc", "2.0");
        // The request's id is not known here: JSON-RPC answers an unreadable request with a null id.
        json.WriteNull("id");
        json.WriteStartObject("error");
        json.WriteNumber("code", (int)code);
        json.WriteString("message", message);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static string Describe(Exception e) => e is JsonException { Path: { Length: > 1 } path }
        ? $"Invalid params: '{path}' has the wrong type or shape; see the method's schema (tools/list gives each tool's arguments)."
        : e is JsonException
            ? "Invalid params: they do not have the shape this method takes (e.g. tools/call needs a string name and an object of arguments)."
            : "Invalid params: a string is not valid text (a lone UTF-16 surrogate escape such as \\ud800).";

    private sealed class InvalidParamsStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                try
                {
                    await nextMiddleware(context);
                }
                catch (Exception e) when (IsUnreadableBody(context, e))
                {
                    await WriteAsync(context, e);
                }
            });
            next(app);
        };
    }

    private sealed class InvalidParamsDeveloperPageFilter : Microsoft.AspNetCore.Diagnostics.IDeveloperPageExceptionFilter
    {
        public Task HandleExceptionAsync(Microsoft.AspNetCore.Diagnostics.ErrorContext errorContext, Func<Microsoft.AspNetCore.Diagnostics.ErrorContext, Task> next) =>
            IsUnreadableBody(errorContext.HttpContext, errorContext.Exception)
                ? WriteAsync(errorContext.HttpContext, errorContext.Exception)
                : next(errorContext);
    }
}
