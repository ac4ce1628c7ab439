using System.Text.Json;
using System.Text.Json.Serialization;

namespace TaskManager.Mcp.Tools;

/// <summary>
/// An enum as the api spells it: its member names in lower case (<c>todo</c>, <c>critical</c>, <c>create</c>), and only
/// by name (a number is not a status). As the converter of a tool parameter's type it puts the allowed values in the
/// tool's input schema (<c>"enum": [...]</c>), and binding refuses any other value.
/// </summary>
public sealed class WireEnumConverter<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false)
    where T : struct, Enum;

public static class WireEnum
{
    /// <summary>The value as the api and the tool schemas spell it (the converter's naming).</summary>
    public static string Wire<T>(this T value) where T : struct, Enum => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());
}
