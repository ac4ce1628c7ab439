using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace TaskManager.Api.Http;

/// <summary>
/// Describes in the OpenAPI document what our JSON converters read and write, so that client generators get real types.
/// The schema generator cannot see through a custom converter and describes its type as anything (<c>{}</c>): every
/// string, since <see cref="NoNulStringConverter"/> reads them all (which also leaves arrays of strings without items),
/// and every partial-update field (<see cref="Optional{T}"/>). String enums (<see cref="StrictEnumConverter{T}"/>)
/// keep their values but get no type.
/// </summary>
public static class ConverterSchemas
{
    public static async Task DescribeAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        var typeInfo = context.JsonTypeInfo;
        if (OptionalValueType(typeInfo.Type) is { } valueType)
        {
            await DescribeOptionalAsync(schema, valueType, context, ct);
        }
        else if (typeInfo.Type == typeof(string) && IsAnything(schema))
        {
            // Nullable when the property's getter or setter is, as the generator decides for types it can see.
            schema.Type = context.JsonPropertyInfo is { IsGetNullable: true } or { IsSetNullable: true }
                ? JsonSchemaType.String | JsonSchemaType.Null
                : JsonSchemaType.String;
        }
        else if (typeInfo.Kind == JsonTypeInfoKind.Enumerable && schema.Items is null && schema.Type?.HasFlag(JsonSchemaType.Array) == true)
        {
            // The generator leaves out items it would describe as anything (strings); GetOrCreateSchemaAsync runs this
            // transformer on them.
            schema.Items = await context.GetOrCreateSchemaAsync(typeInfo.ElementType!, null, ct);
        }
        else if (typeInfo.Kind == JsonTypeInfoKind.Dictionary
                 && schema.AdditionalProperties is null or OpenApiSchema { Items: null, Type: JsonSchemaType.Array })
        {
            // Values are not visited on their own (ProblemDetails' errors: string -> string[]).
            schema.AdditionalProperties = await context.GetOrCreateSchemaAsync(typeInfo.ElementType!, null, ct);
        }
        else if (schema.Type is null && schema.Enum is { Count: > 0 } values && values.All(v => IsNull(v) || v!.GetValueKind() == JsonValueKind.String))
        {
            // The generator gives a string enum its values but no type (dotnet/aspnetcore#61303).
            schema.Type = values.Any(IsNull) ? JsonSchemaType.String | JsonSchemaType.Null : JsonSchemaType.String;
        }
    }

    /// <summary>The T of an <see cref="Optional{T}"/>; null for any other type.</summary>
    public static Type? OptionalValueType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Optional<>) ? type.GetGenericArguments()[0] : null;

    /// <summary>On the wire a partial-update field is its value, or null to clear it: the value's schema, nullable.</summary>
    private static async Task DescribeOptionalAsync(OpenApiSchema schema, Type valueType, OpenApiSchemaTransformerContext context, CancellationToken ct)
    {
        valueType = Nullable.GetUnderlyingType(valueType) ?? valueType;
        var value = await context.GetOrCreateSchemaAsync(valueType, null, ct);
        if (OpenApiOptions.CreateDefaultSchemaReferenceId(context.JsonTypeInfo.Options.GetTypeInfo(valueType)) is not null)
        {
            // A component (an enum, a record): referred to, the way the generator writes a nullable one (TaskState?).
            schema.OneOf = [new OpenApiSchema { Type = JsonSchemaType.Null }, value];
            return;
        }
        schema.Type = value.Type | JsonSchemaType.Null;
        schema.Format = value.Format;
        schema.Pattern = value.Pattern;
        schema.Enum = value.Enum;
        schema.Items = value.Items;
        schema.Properties = value.Properties;
        schema.AdditionalProperties = value.AdditionalProperties;
    }

    private static bool IsAnything(OpenApiSchema schema) =>
        schema is { Type: null, Enum: null or [], OneOf: null or [], AnyOf: null or [], AllOf: null or [], Items: null, Properties: null or { Count: 0 } };

    private static bool IsNull(JsonNode? value) => value is null || value.GetValueKind() == JsonValueKind.Null;
}
