/* main.c - the only place that ends the process. */
#include "cli.h"

int main(int argc, char **argv)
{
	return cdc_cli_main(argc, argv);
}
