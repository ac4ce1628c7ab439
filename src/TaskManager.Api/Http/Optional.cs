using System.Text.Json;
using System.Text.Json.Serialization;
using TaskManager.Api.Tasks;

namespace TaskManager.Api.Http;

/// <summary>
/// A field of a partial update: absent (leave as is) or present with a value, which may be null (clear it).
/// </summary>
[JsonConverter(typeof(OptionalConverterFactory))]
public readonly record struct Optional<T>(T Value)
{
    public bool IsSet { get; } = true;

    public static implicit operator Optional<T>(T value) => new(value);
}

public sealed class OptionalConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(Optional<>);

    /// <summary>
    /// Every <see cref="Optional{T}"/> that a request uses, listed: Native AOT cannot make a converter type at run time
    /// (MakeGenericType). A T missing here fails on the first request that reads it, in every build.
    /// </summary>
    private static readonly Dictionary<Type, Func<JsonConverter>> Converters = new()
    {
        [typeof(Optional<string?>)] = () => new OptionalConverter<string?>(),
        [typeof(Optional<string[]?>)] = () => new OptionalConverter<string[]?>(),
        [typeof(Optional<bool?>)] = () => new OptionalConverter<bool?>(),
        [typeof(Optional<int?>)] = () => new OptionalConverter<int?>(),
        [typeof(Optional<DateOnly?>)] = () => new OptionalConverter<DateOnly?>(),
        [typeof(Optional<TaskState?>)] = () => new OptionalConverter<TaskState?>(),
        [typeof(Optional<TaskPriority?>)] = () => new OptionalConverter<TaskPriority?>(),
    };

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        Converters.TryGetValue(typeToConvert, out var create)
            ? create()
            : throw new NotSupportedException($"{typeToConvert} is not listed in {nameof(OptionalConverterFactory)}.{nameof(Converters)}.");

    private sealed class OptionalConverter<T> : JsonConverter<Optional<T>>
    {
        // Called for an explicit null too, so that "field": null means "clear it".
        public override bool HandleNull => true;

        public override Optional<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            // Reading through T's own converter (not a nested Deserialize) keeps the error path, e.g. $.status.
            new(reader.TokenType == JsonTokenType.Null ? default! : ValueConverter(options).Read(ref reader, typeof(T), options)!);

        public override void Write(Utf8JsonWriter writer, Optional<T> value, JsonSerializerOptions options) =>
            ValueConverter(options).Write(writer, value.Value, options);

        // T's contract (source-generated under Native AOT) carries its converter, the options' own ones included.
        private static JsonConverter<T> ValueConverter(JsonSerializerOptions options) =>
            (JsonConverter<T>)options.GetTypeInfo(typeof(T)).Converter;
    }
}

/// <summary>Enum values as snake_case strings, refusing numbers: <c>"status": 2</c> is an error, not "review".</summary>
public sealed class StrictEnumConverter<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false)
    where T : struct, Enum;

/// <summary>
/// Refuses NUL characters in JSON strings: PostgreSQL text cannot hold them, and the error should name the field.
/// </summary>
public sealed class NoNulStringConverter : JsonConverter<string>
{
    public const string Message = "Text must not contain NUL (\\u0000) characters.";

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            // Thrown here rather than by GetString, so that the problem names the element (e.g. $.labels[0]), not its array.
            throw new JsonException($"The JSON value could not be converted to {nameof(String)}.");
        }
        return WithoutNul(reader.GetString());
    }

    private static string? WithoutNul(string? value) =>
        value is not null && value.Contains('\0') ? throw new JsonException(Message) : value;

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

    // Dictionary keys (e.g. the field names of a validation problem's errors) go through these: without them, writing
    // any string-keyed dictionary throws.
    public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        WithoutNul(reader.GetString()) ?? "";

    public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) =>
        writer.WritePropertyName(value);
}
