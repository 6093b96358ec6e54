/*
 * replay.c -- a main() for the harnesses without libFuzzer: feeds every file
 * named on the command line (directories: every file in them) to
 * LLVMFuzzerTestOneInput once.  Lets the seed corpus run as a plain test
 * with any compiler and sanitizer, or under valgrind.  Prints the plain
 * "N passed, 0 failed" tally; a failed invariant aborts.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int passed;

static int
run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 4096, len = 0, n;
    /* an exact-size copy, so ASan sees any read past the end */
    char *buf = malloc(cap), *exact;
    if (!buf) {
        fclose(f);
        return 1;
    }
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                fclose(f);
                return 1;
            }
            buf = b;
        }
    }
    fclose(f);
    exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput((const uint8_t *)exact, len);
    free(exact);
    passed++;
    return 0;
}

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    DIR *dir = opendir(path);
    if (!dir) {
        perror(path);
        return 1;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    int failed = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            char **b = realloc(names, cap * sizeof *names);
            if (!b) {
                failed = 1;
                break;
            }
            names = b;
        }
        size_t len = strlen(path) + strlen(de->d_name) + 2;
        if (!(names[count] = malloc(len))) {
            failed = 1;
            break;
        }
        snprintf(names[count++], len, "%s/%s", path, de->d_name);
    }
    closedir(dir);
    qsort(names, count, sizeof *names, compare_names); /* a fixed order */
    for (size_t i = 0; i < count; i++) {
        failed |= run_path(names[i]);
        free(names[i]);
    }
    free(names);
    return failed;
}

int
main(int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++)
        failed |= run_path(argv[i]);
    const char *name = argc > 0 && strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : "replay";
    printf("%s: %d passed, %d failed\n", name, passed, failed);
    return failed;
}
