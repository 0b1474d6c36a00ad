#ifndef ATOMD_YAML_H
#define ATOMD_YAML_H

/* The system's libyaml (Debian's libyaml-dev): the job and configuration
   loaders read its parser events and compose their own tree. */
#include <yaml.h>

#endif
