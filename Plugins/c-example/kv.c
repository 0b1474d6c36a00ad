/*
 * kv: the C example plugin. One atom, kv.set, sets KEY=VALUE in a file of
 * such lines, and can undo it. Written against atomd_plugin.h alone, to show
 * that the C ABI is enough: no atomd library, no Swift.
 *
 * Input:   {"file": "/etc/app/settings", "key": "mode", "value": "blue"}
 * Outputs: {"previous": "green"} (or null when the key was not set)
 */
#include <atomd_plugin.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const atomd_host *host;

/* ---- just enough JSON: read a string member, write an escaped string ---- */

/* The string member `key` of the object in `json`, unescaped and malloc'ed; NULL if absent or not a string. */
static char *json_string(atomd_bytes json, const char *key) {
    size_t key_length = strlen(key);
    for (size_t i = 0; i + key_length + 2 < json.length; i++) {
        if (json.data[i] != '"' || strncmp(json.data + i + 1, key, key_length) != 0 || json.data[i + 1 + key_length] != '"') continue;
        size_t j = i + key_length + 2;
        while (j < json.length && (json.data[j] == ' ' || json.data[j] == ':')) j++;
        if (j >= json.length || json.data[j] != '"') return NULL;
        char *out = malloc(json.length - j);
        if (out == NULL) return NULL;
        size_t n = 0;
        for (j++; j < json.length && json.data[j] != '"'; j++) {
            char c = json.data[j];
            if (c == '\\' && j + 1 < json.length) {
                c = json.data[++j];
                if (c == 'n') c = '\n';
                else if (c == 't') c = '\t';
                else if (c == 'u') { free(out); return NULL; } /* keep the example small: no \u escapes */
            }
            out[n++] = c;
        }
        out[n] = 0;
        return out;
    }
    return NULL;
}

/* Appends `text` to `out` as a JSON string. */
static void json_quote(FILE *out, const char *text) {
    fputc('"', out);
    for (; *text; text++) {
        if (*text == '"' || *text == '\\') fprintf(out, "\\%c", *text);
        else if (*text == '\n') fputs("\\n", out);
        else if ((unsigned char)*text < 0x20) fprintf(out, "\\u%04x", *text);
        else fputc(*text, out);
    }
    fputc('"', out);
}

static atomd_status fail(char **response, size_t *length, int retryable, const char *format, const char *detail) {
    FILE *out = open_memstream(response, length);
    if (out == NULL) return ATOMD_FAILED;
    char message[512];
    snprintf(message, sizeof message, format, detail);
    fputs("{\"message\": ", out);
    json_quote(out, message);
    fprintf(out, ", \"retryable\": %s}", retryable ? "true" : "false");
    fclose(out);
    return ATOMD_FAILED;
}

/* ---- the key-value file ---- */

/* The value of `key` in `file`, malloc'ed; NULL if not set. */
static char *kv_get(const char *file, const char *key) {
    FILE *in = fopen(file, "r");
    if (in == NULL) return NULL;
    char *line = NULL, *value = NULL;
    size_t capacity = 0, key_length = strlen(key);
    while (value == NULL && getline(&line, &capacity, in) > 0) {
        if (strncmp(line, key, key_length) == 0 && line[key_length] == '=') {
            value = strdup(line + key_length + 1);
            value[strcspn(value, "\n")] = 0;
        }
    }
    free(line);
    fclose(in);
    return value;
}

/* Sets `key` to `value` (or removes it when value is NULL), by writing a new file and renaming it over the old. */
static int kv_put(const char *file, const char *key, const char *value) {
    char temporary[4096];
    snprintf(temporary, sizeof temporary, "%s.kv-tmp", file);
    FILE *out = fopen(temporary, "w");
    if (out == NULL) return -1;
    FILE *in = fopen(file, "r");
    size_t key_length = strlen(key);
    int written = 0;
    if (in != NULL) {
        char *line = NULL;
        size_t capacity = 0;
        while (getline(&line, &capacity, in) > 0) {
            if (strncmp(line, key, key_length) == 0 && line[key_length] == '=') {
                if (value != NULL && !written) fprintf(out, "%s=%s\n", key, value);
                written = 1;
            } else {
                fputs(line, out);
            }
        }
        free(line);
        fclose(in);
    }
    if (value != NULL && !written) fprintf(out, "%s=%s\n", key, value);
    if (fflush(out) != 0 || fsync(fileno(out)) != 0) { fclose(out); return -1; }
    fclose(out);
    return rename(temporary, file);
}

/* ---- the atom ---- */

struct input { char *file, *key, *value; };

static int read_input(atomd_bytes json, struct input *input) {
    input->file = json_string(json, "file");
    input->key = json_string(json, "key");
    input->value = json_string(json, "value");
    return input->file && input->key && input->value && input->key[0] && !strchr(input->key, '=') && !strchr(input->key, '\n');
}

static void free_input(struct input *input) {
    free(input->file); free(input->key); free(input->value);
}

static atomd_status set_execute(const atomd_call *call, atomd_bytes in, atomd_bytes outputs, char **response, size_t *length) {
    (void)outputs;
    struct input input;
    if (!read_input(in, &input)) {
        free_input(&input);
        return fail(response, length, 0, "kv.set needs string members file, key and value%s", "");
    }
    char *previous = kv_get(input.file, input.key);
    if (kv_put(input.file, input.key, input.value) != 0) {
        atomd_status status = fail(response, length, 1, "cannot write %s", input.file);
        free(previous); free_input(&input);
        return status;
    }
    char line[512];
    int n = snprintf(line, sizeof line, "%s: %s=%s", input.file, input.key, input.value);
    host->log(call, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
    FILE *out = open_memstream(response, length);
    if (out != NULL) {
        fputs("{\"outputs\": {\"previous\": ", out);
        if (previous) json_quote(out, previous); else fputs("null", out);
        fputs("}}", out);
        fclose(out);
    }
    free(previous); free_input(&input);
    return ATOMD_OK;
}

static atomd_status set_revert(const atomd_call *call, atomd_bytes in, atomd_bytes outputs, char **response, size_t *length) {
    (void)call;
    struct input input;
    if (!read_input(in, &input)) { free_input(&input); return ATOMD_OK; }
    /* Without recorded outputs the previous value is unknown: leave the file as it is. */
    if (outputs.length == 4 && memcmp(outputs.data, "null", 4) == 0) { free_input(&input); return ATOMD_OK; }
    char *previous = json_string(outputs, "previous");
    int result = kv_put(input.file, input.key, previous);
    free(previous);
    atomd_status status = result == 0 ? ATOMD_OK : fail(response, length, 1, "cannot write %s", input.file);
    free_input(&input);
    return status;
}

static atomd_status set_check(const atomd_call *call, atomd_bytes in, atomd_bytes outputs, char **response, size_t *length) {
    (void)call; (void)outputs; (void)response; (void)length;
    struct input input;
    if (!read_input(in, &input)) { free_input(&input); return ATOMD_UNKNOWN; }
    char *current = kv_get(input.file, input.key);
    atomd_status status = current && strcmp(current, input.value) == 0 ? ATOMD_OK : ATOMD_ABSENT;
    free(current); free_input(&input);
    return status;
}

static const atomd_atom atoms[] = {
    {
        .struct_size = sizeof(atomd_atom),
        .flags = ATOMD_ATOM_REVERT | ATOMD_ATOM_CHECK,
        .name = "set",
        .description = "set KEY=VALUE in a file of such lines; revert restores the previous value",
        .input_schema = "{\"type\": \"object\", \"required\": [\"file\", \"key\", \"value\"],"
                        " \"properties\": {\"file\": {\"type\": \"string\"}, \"key\": {\"type\": \"string\"},"
                        " \"value\": {\"type\": \"string\"}}}",
        .execute = set_execute,
        .revert = set_revert,
        .check = set_check,
    },
};

static const atomd_plugin plugin = {
    .magic = ATOMD_PLUGIN_MAGIC,
    .struct_size = sizeof(atomd_plugin),
    .abi_major = ATOMD_ABI_MAJOR,
    .abi_minor = ATOMD_ABI_MINOR,
    .name = "kv",
    .version = "1.0.0",
    .description = "key-value files (the C example)",
    .atom_count = 1,
    .atom_struct_size = sizeof(atomd_atom),
    .atoms = atoms,
};

const atomd_plugin *atomd_plugin_entry_v1(const atomd_host *given) {
    host = given;
    return &plugin;
}
