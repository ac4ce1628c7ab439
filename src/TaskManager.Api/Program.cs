using TaskManager.Api.Auth;
using TaskManager.Api.Database;
using TaskManager.Api.Http;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddDatabase();
builder.AddTokenAuth();
builder.AddHttpConventions();
builder.Services.AddSingleton<ProjectStore>();
builder.Services.AddSingleton<TaskStore>();

var app = builder.Build();

app.UseHttpConventions();
app.UseAuthentication();
app.UseAuthorization();

app.MapDefaultEndpoints();
app.MapOpenApi();
app.MapTokensApi();
app.MapProjectsApi();
app.MapTasksApi();

app.Run();

public partial class Program;
