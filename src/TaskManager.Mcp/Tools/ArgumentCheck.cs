using System.Text.Json;
using ModelContextProtocol.Protocol;

namespace TaskManager.Mcp.Tools;

/// <summary>
/// Checks a tool call's arguments against the tool's input schema before binding, so that the model hears which
/// argument is wrong ("limit: expected integer, got string", "status: 'blocked' is not one of todo, doing, review, done")
/// instead of a .NET conversion message, and so that a misspelt argument is an error rather than silently ignored.
/// </summary>
public static class ArgumentCheck
{
    public static string? Problem(Tool tool, IDictionary<string, JsonElement>? arguments)
    {
        if (arguments is null || arguments.Count == 0)
        {
            return null;
        }
        var schema = tool.InputSchema;
        var properties = schema.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var required = schema.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.Array
            ? r.EnumerateArray().Select(e => e.GetString()).ToHashSet()
            : [];
        var problems = new List<string>();
        foreach (var (name, value) in arguments)
        {
            if (properties.ValueKind != JsonValueKind.Object || !properties.TryGetProperty(name, out var property))
            {
                var known = properties.ValueKind == JsonValueKind.Object ? string.Join(", ", properties.EnumerateObject().Select(x => x.Name)) : "none";
                problems.Add($"{name}: unknown argument (this tool takes: {known}).");
                continue;
            }
            if (value.ValueKind == JsonValueKind.Null && !required.Contains(name))
            {
                continue;
            }
            if (Mismatch(property, value) is { } mismatch)
            {
                problems.Add($"{name}: {mismatch}");
            }
            else if (value.ValueKind == JsonValueKind.Array && property.TryGetProperty("items", out var items))
            {
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Null)
                    {
                        problems.Add($"{name}[{index}]: must not be null.");
                    }
                    else if (Mismatch(items, item) is { } itemMismatch)
                    {
                        problems.Add($"{name}[{index}]: {itemMismatch}");
                    }
                    index++;
                }
            }
        }
        return problems.Count == 0 ? null : $"Invalid arguments for '{tool.Name}': {string.Join(" ", problems)}";
    }

    private static string? Mismatch(JsonElement schema, JsonElement value)
    {
        if (!schema.TryGetProperty("type", out var type))
        {
            return null;
        }
        var allowed = type.ValueKind == JsonValueKind.Array
            ? type.EnumerateArray().Select(t => t.GetString()).ToHashSet()
            : [type.GetString()];
        var actual = value.ValueKind switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number when value.TryGetInt64(out _) => "integer",
            JsonValueKind.Number => "number",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Array => "array",
            JsonValueKind.Object => "object",
            _ => "null",
        };
        var fits = allowed.Contains(actual) || (actual == "integer" && allowed.Contains("number"));
        if (fits && actual == "integer" && allowed.Contains("integer") && !value.TryGetInt32(out _))
        {
            // Tool parameters are 32-bit integers.
            return $"{Shorten(value)} is out of range.";
        }
        if (!fits)
        {
            return $"expected {string.Join(" or ", allowed.Where(t => t != "null"))}, got {(actual == "null" ? "null" : $"{actual} {Shorten(value)}")}.";
        }
        return actual == "string" ? NotAllowed(schema, value.GetString()!) : null;
    }

    /// <summary>
    /// A value outside the schema's <c>enum</c> (an enum parameter: action, status, priority), named with the allowed
    /// values; binding would only say that it "could not be converted". Case is forgiven, as binding forgives it.
    /// </summary>
    private static string? NotAllowed(JsonElement schema, string value)
    {
        if (!schema.TryGetProperty("enum", out var values) || values.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        var allowed = values.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToArray();
        return allowed.Contains(value, StringComparer.OrdinalIgnoreCase)
            ? null
            : $"'{Shorten(value)}' is not one of {string.Join(", ", allowed)}.";
    }

    private static string Shorten(JsonElement value) => Shorten(value.GetRawText());

    private static string Shorten(string text) => text.Length > 40 ? text[..40] + "…" : text;
}
