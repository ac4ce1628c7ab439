namespace TaskManager.Mcp.ApiClient;

/// <summary>Query parameters for an api list call; blank values are left out, so the api's defaults apply.</summary>
public sealed class ApiQuery : List<KeyValuePair<string, string>>
{
    public ApiQuery With(string name, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            Add(new(name, value));
        }
        return this;
    }

    public ApiQuery With(string name, bool? value) => With(name, value is null ? null : value.Value ? "true" : "false");

    public ApiQuery With(string name, int? value) => With(name, value?.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public ApiQuery With(string name, IEnumerable<string> values)
    {
        foreach (var value in values)
        {
            With(name, value);
        }
        return this;
    }
}
